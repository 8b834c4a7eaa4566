import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, readPid, writePid, sleep, processTree, signalTree } from './processes.js';

const stateOf = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];

test('a zombie (exited, never reaped by its parent) is not alive', async (t) => {
  // The forked child exits at once and its parent never waits for it. A shell is no use here: bash (a CI's /bin/sh
  // may be bash) reaps background jobs from its SIGCHLD handler even just before `exec`.
  const script = '$SIG{CHLD} = "DEFAULT"; $| = 1; my $p = fork; exit 0 unless $p; print "$p\n"; sleep 5';
  const sh = spawn('perl', ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    await sleep(300);
    if (!existsSync(`/proc/${pid}`)) {
      // Seen once in CI: some sandboxed kernels reap at exit whatever the parent does. There is no zombie to test.
      t.skip('this kernel reaped the exited child at once: no zombie to look at');
      return;
    }
    assert.equal(stateOf(pid), 'Z', 'the kernel still has the zombie');
    assert.equal(isAlive(pid), false);
    assert.equal(isAlive(process.pid), true);
  } finally {
    sh.kill('SIGKILL');
  }
});

test('a pid file names its process only while the start time matches (a recycled pid is not it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-pid-'));
  try {
    const file = join(dir, 'x.pid');
    writePid(file, process.pid);
    assert.equal(readPid(file), process.pid);
    writeFileSync(file, `${process.pid} 1\n`);
    assert.equal(readPid(file), undefined, 'same number, another start time: another process');
    writeFileSync(file, `${process.pid}\n/var/lib/postgresql/data\n`);
    assert.equal(readPid(file), process.pid, 'postmaster.pid style: the first line is the pid');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process tree includes descendants in their own sessions; STOP, CONT and KILL reach every one', async () => {
  // The grandchild runs in its own session, as PostgreSQL backends can: a process-group signal would miss it.
  const sh = spawn('sh', ['-c', 'setsid sleep 30 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const grandchild = await new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  const root = sh.pid ?? 0;
  try {
    await sleep(200);
    assert.notEqual(readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1]?.split(' ')[3], String(root), 'the grandchild left the group');
    const tree = processTree([root]);
    assert.deepEqual([...tree].sort(), [root, grandchild].sort());
    signalTree(() => processTree([root]), 'SIGSTOP');
    await sleep(100);
    assert.deepEqual([stateOf(root), stateOf(grandchild)], ['T', 'T']);
    signalTree(() => processTree([root]), 'SIGCONT');
    await sleep(100);
    assert.deepEqual([stateOf(root), stateOf(grandchild)], ['S', 'S']);
    signalTree(() => processTree([root]), 'SIGKILL');
    await sleep(200);
    assert.equal(isAlive(grandchild), false);
    assert.equal(isAlive(root), false);
  } finally {
    try { process.kill(-root, 'SIGKILL'); } catch { /* gone */ }
    try { process.kill(grandchild, 'SIGKILL'); } catch { /* gone */ }
  }
});
