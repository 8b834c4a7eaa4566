import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMP_MARK, TEMP_PREFIX, createFileAtomic, writeFileAtomic, writeFileAtomicIfChanged, removeFileDurably } from './atomic-file.js';

const helper = fileURLToPath(new URL('./atomic-file.js', import.meta.url));
const dir = () => mkdtempSync(join(tmpdir(), 'pgop-atomic-'));
const temps = (d: string) => readdirSync(d).filter((n) => n.includes(TEMP_MARK));

/** Runs writeFileAtomic in a child whose file size limit (ulimit -f, 512-byte blocks) is smaller than the content. */
function writeOverLimit(path: string, bytes: number) {
  const script = `const { writeFileAtomic } = await import(${JSON.stringify(helper)});
    writeFileAtomic(${JSON.stringify(path)}, 'x'.repeat(${bytes}));`;
  return spawnSync('sh', ['-c', 'ulimit -f 8; exec "$0" --input-type=module -e "$1"', process.execPath, script], { encoding: 'utf8' });
}

test('writes the content with the mode asked for and leaves no temp file behind', () => {
  const d = dir();
  const f = join(d, 'instance.json');
  writeFileAtomic(f, 'one\n');
  writeFileAtomic(f, 'two\n', { mode: 0o640 });
  assert.equal(readFileSync(f, 'utf8'), 'two\n');
  assert.equal(statSync(f).mode & 0o777, 0o640);
  writeFileAtomic(join(d, 'secret'), 's3cr3t');
  assert.equal(statSync(join(d, 'secret')).mode & 0o777, 0o600, 'default mode is 0600');
  assert.deepEqual(temps(d), []);
});

test('a write that fails midway leaves the old content and removes its temp file', () => {
  const d = dir();
  const f = join(d, 'pgpass');
  writeFileSync(f, 'old content\n');
  const r = writeOverLimit(f, 64 * 1024);
  assert.notEqual(r.status, 0, 'the write should have failed (file size limit)');
  assert.match(r.stderr, /EFBIG|too large/i);
  assert.equal(readFileSync(f, 'utf8'), 'old content\n');
  assert.deepEqual(temps(d), []);
});

/** A writer process that dies (SIGKILL) at `fsCall`, after that call did half its work: a crash at that point. */
function crashAt(path: string, fsCall: 'writeSync' | 'renameSync') {
  const script = `import fs from 'node:fs';
    import { syncBuiltinESMExports } from 'node:module';
    const real = fs.${fsCall};
    fs.${fsCall} = (...args) => {
      if (${JSON.stringify(fsCall)} === 'writeSync') real(args[0], args[1], 0, 10);
      process.kill(process.pid, 'SIGKILL');
    };
    syncBuiltinESMExports();
    const { writeFileAtomic } = await import(${JSON.stringify(helper)});
    writeFileAtomic(${JSON.stringify(path)}, 'new content that is long enough to be cut\\n');`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
}

for (const fsCall of ['writeSync', 'renameSync'] as const) {
  test(`a writer killed at ${fsCall} leaves the old content; its stale temp goes with the next write`, () => {
    const d = dir();
    const f = join(d, 'superuser.password');
    writeFileSync(f, 'old\n');
    const r = crashAt(f, fsCall);
    assert.equal(r.signal, 'SIGKILL', `the child died mid-write: ${r.stderr}`);
    assert.equal(readFileSync(f, 'utf8'), 'old\n');
    const [left] = temps(d);
    assert.ok(left, 'a crash leaves its temp file (nothing ran to remove it)');
    // PostgreSQL's temp prefix: pg_basebackup and pgBackRest skip it when the file lies in a data directory.
    assert.ok(left.startsWith('pgsql_tmp.superuser.password.tmp-'), left);
    writeFileAtomic(f, 'newer\n');
    assert.ok(temps(d).includes(left), 'a recent temp may belong to a live writer: kept');
    const past = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(d, left), past, past);
    writeFileAtomic(f, 'new\n');
    assert.equal(readFileSync(f, 'utf8'), 'new\n');
    assert.deepEqual(temps(d), []);
  });
}

test('an unchanged content is not rewritten', () => {
  const d = dir();
  const f = join(d, 'app.password');
  assert.equal(writeFileAtomicIfChanged(f, 'pw\n'), true);
  const inode = statSync(f).ino;
  assert.equal(writeFileAtomicIfChanged(f, 'pw\n'), false);
  assert.equal(statSync(f).ino, inode, 'same file, not a rewritten copy');
  assert.equal(writeFileAtomicIfChanged(f, 'pw2\n'), true);
  assert.notEqual(statSync(f).ino, inode);
});

test('removing durably tolerates a missing file', () => {
  const d = dir();
  const f = join(d, 'pgop-bootstrapped');
  writeFileAtomic(f, 'x');
  removeFileDurably(f);
  removeFileDurably(f);
  assert.deepEqual(readdirSync(d), []);
});

test('create-if-missing keeps the first value and leaves no temp file', () => {
  const d = dir();
  const f = join(d, 'agent.token');
  assert.equal(createFileAtomic(f, 'first\n'), true);
  assert.equal(createFileAtomic(f, 'second\n'), false);
  assert.equal(readFileSync(f, 'utf8'), 'first\n');
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.deepEqual(temps(d), []);
});

test('a stale temp file named the older way (.<target>.tmp-…) goes with the next write too', () => {
  const d = dir();
  const f = join(d, 'pgop.conf');
  const old = join(d, `.pgop.conf${TEMP_MARK}0123456789ab`);
  writeFileSync(old, 'half');
  const past = new Date(Date.now() - 10 * 60_000);
  utimesSync(old, past, past);
  writeFileAtomic(f, 'x\n');
  assert.deepEqual(temps(d), []);
  assert.equal(TEMP_PREFIX, 'pgsql_tmp.');
});
