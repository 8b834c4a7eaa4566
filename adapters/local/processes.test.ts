import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, readPid, writePid, sleep } from './processes.js';

test('a zombie (exited, never reaped by its parent) is not alive', async () => {
  // `sleep 0` exits at once; its parent exec()s into a program that never waits for it.
  const sh = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = await new Promise<number>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  try {
    await sleep(300);
    assert.doesNotThrow(() => process.kill(pid, 0), 'the kernel still has the zombie');
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
