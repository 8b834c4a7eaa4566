// The README's first command, exactly as written, leaves a running 3-instance cluster with connection strings.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { LocalCluster, repoRoot, stateDir } from '../helpers/cli.js';
import { query } from '../helpers/sql.js';

const state = stateDir('pgop-readme-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

test('README opens with the run command and the test command', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const block = /```bash\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const commands = block.split('\n').filter(Boolean).map((l) => l.split('#')[0]?.trim());
  assert.deepEqual(commands, ['npm start', 'npm test']);
  assert.ok(readme.indexOf('```bash') < 20, 'the commands come first');
});

test('`npm start` brings up a Ready 3-instance cluster and prints working connection strings', async () => {
  const r = spawnSync('bash', ['-c', 'npm start'], {
    cwd: repoRoot, encoding: 'utf8', timeout: 600_000, env: { ...process.env, PGOP_STATE_DIR: state, npm_config_loglevel: 'error' },
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /demo\s+3\s+3\s+Ready\s+demo-1/);
  const uri = /read-write\s+(postgresql:\/\/\S+)/.exec(r.stdout)?.[1];
  assert.ok(uri, r.stdout);
  const [row] = await query<{ ok: number }>(uri, 'SELECT 1 AS ok');
  assert.equal(row?.ok, 1);
  const c = await cluster.get();
  assert.equal(c.status?.readyInstances, 3);
});
