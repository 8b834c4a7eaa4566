// On the real apiserver: kinds that are served but have no controller yet are accepted by `kubectl apply` and the
// operator writes Ready=False, reason=NotImplemented into their status subresource.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { definitionFor } from '../../crds/registry.js';
import { registrations, servedKinds } from '../../bin/kinds.js';
import { repoRoot, pgopBin } from '../helpers/cli.js';
import { eventually } from '../helpers/sql.js';

let cp: ControlPlane;
let redis: { url: string; pid: number };
let operator: ChildProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'pgop-k8s-notimpl-'));
const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
    resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
  });
});

const samples: Record<string, string> = {
  BackupJob: 'backupjob.yaml', ScheduledBackup: 'scheduledbackup.yaml', PostgresDatabase: 'postgresdatabase.yaml',
  PostgresUser: 'postgresuser.yaml', Pooler: 'pooler.yaml', ImageCatalog: 'imagecatalog.yaml',
  ClusterImageCatalog: 'clusterimagecatalog.yaml', ShardRange: 'shardrange.yaml', ShardSplitJob: 'shardsplitjob.yaml',
};
const controlled = new Set(registrations.map((r) => r.binding.kind));
const waiting = servedKinds.filter((k) => !controlled.has(k));

before(async () => {
  cp = await startControlPlane();
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  redis = await startRedis(new StateDir(join(work, 'redis-state')));
  const log = openSync(join(work, 'operator.log'), 'a');
  operator = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', cp.kubeconfig, '--namespace', 'default', '--metrics-port', '0'], {
    env: { ...process.env, REDIS_URL: redis.url, POD_NAME: 'operator-a' }, stdio: ['ignore', log, log],
  });
  closeSync(log);
}, { timeout: 10 * 60_000 });

after(async () => {
  if (operator?.exitCode === null) operator.kill('SIGKILL');
  await stopRedis(redis?.pid);
  await cp?.stop();
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
});

interface Condition { type: string; status: string; reason: string; message: string; observedGeneration?: number }
interface Obj { metadata: { name: string; generation?: number }; status?: { conditions?: Condition[] } }

test('kubectl apply of a kind without a controller yields Ready=False, reason=NotImplemented in its status', async () => {
  assert.ok(waiting.length > 0, 'every kind has a controller: delete this test');
  for (const kind of waiting) {
    assert.ok(samples[kind], `no sample listed for ${kind}`);
    const r = await kubectl(['apply', '-f', join(repoRoot, 'crds', 'samples', samples[kind] as string)]);
    assert.equal(r.status, 0, `${kind}: ${r.stderr}`);
  }
  for (const kind of waiting) {
    const plural = definitionFor(kind)?.plural ?? '';
    const list = await eventually(async () => JSON.parse((await kubectl(['get', `${plural}.postgres.keiailab.io`, '-A', '-o', 'json'])).stdout || '{"items":[]}') as { items: Obj[] },
      (v) => v.items.length > 0 && v.items.every((o) => o.status?.conditions?.some((c) => c.reason === 'NotImplemented')), 60_000)
      .catch((e: unknown) => { throw new Error(`${kind}: ${(e as Error).message}\n${readFileSync(join(work, 'operator.log'), 'utf8').split('\n').slice(-30).join('\n')}`); });
    const ready = list.items[0]?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False', kind);
    assert.equal(ready?.reason, 'NotImplemented', kind);
    assert.match(ready?.message ?? '', new RegExp(`no controller for ${kind}`));
  }
});
