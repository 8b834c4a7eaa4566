import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, chownSync, closeSync, mkdtempSync, openSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { exitReason } from './exit-reason.js';
import { pgBinDir } from '../local/postgres-install.js';
import { postgresUser } from '../os/os-user.js';
import { runCommand } from '../os/run-command.js';

test('only what this start wrote counts; the bind failure is named beside the FATAL it causes', () => {
  const log = join(mkdtempSync(join(tmpdir(), 'pgop-exit-')), 'postgres.log');
  writeFileSync(log, '2026-12-06 10:00:00 UTC [10] FATAL:  an older start\n');
  const from = statSync(log).size;
  assert.equal(exitReason(log, from), undefined, 'nothing new: no reason');
  appendFileSync(log, [
    '2026-12-06 10:00:01 UTC [11] LOG:  could not bind IPv4 address "127.0.0.1": Address already in use',
    '2026-12-06 10:00:01 UTC [11] HINT:  Is another postmaster already running on port 5432?',
    '2026-12-06 10:00:01 UTC [11] FATAL:  could not create any TCP/IP sockets', ''].join('\n'));
  assert.equal(exitReason(log, from, 11), 'LOG: could not bind IPv4 address "127.0.0.1": Address already in use; FATAL: could not create any TCP/IP sockets');
  assert.equal(exitReason(join(log, 'missing'), 0), undefined);
});

test("a client's failed login is not why postgres exited; the startup process's FATAL is", () => {
  const log = join(mkdtempSync(join(tmpdir(), 'pgop-exit-')), 'postgres.log');
  writeFileSync(log, [
    '2026-12-06 10:00:01 UTC [20] LOG:  starting PostgreSQL 15',
    '2026-12-06 10:00:01 UTC [21] FATAL:  recovery ended before configured recovery target was reached',
    '2026-12-06 10:00:01 UTC [20] LOG:  startup process (PID 21) exited with exit code 1',
    '2026-12-06 10:00:02 UTC [33] FATAL:  password authentication failed for user "x; FATAL: looks like a reason"',
    '2026-12-06 10:00:02 UTC [20] LOG:  database system is shut down', ''].join('\n'));
  assert.equal(exitReason(log, 0, 20), 'FATAL: recovery ended before configured recovery target was reached');
});

test('a real postgres whose port is taken: the reason says which address and why', async () => {
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'pgop-exit-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  await runCommand(join(pgBinDir(undefined), 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres'], { user });
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  const address = taken.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const logFile = join(dir, 'postgres.log');
  writeFileSync(logFile, '');
  if (user) chownSync(logFile, user.uid, user.gid);
  const fd = openSync(logFile, 'a');
  let postmaster: number | undefined;
  try {
    const child = spawn(join(pgBinDir(undefined), 'postgres'), ['-D', data, '-c', `port=${port}`, '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`],
      { stdio: ['ignore', fd, fd], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    postmaster = child.pid;
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    assert.equal(code, 1);
  } finally {
    closeSync(fd);
    taken.close();
  }
  assert.match(exitReason(logFile, 0, postmaster) ?? '', /could not bind IPv4 address "127\.0\.0\.1": Address already in use; FATAL: could not create any TCP\/IP sockets/);
});
