// Bootstrapping a new cluster's first instance from a backup repository: `pgbackrest restore` (with the
// recovery target) into a fresh data directory, then a private start of postgres — no TCP listener, a socket in a
// 0700 directory, `trust` only there — that replays to the target and promotes; then the recovery settings are
// reset, the passwords become this cluster's, its own stanza is created, and postgres stops. The supervisor then
// starts it as an ordinary primary. The source's stanza is only ever read (the restore's own config names it);
// archive_command always names this cluster's stanza.
import { spawn } from 'node:child_process';
import { openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { exitReason, logEnd } from '../adapters/instance/exit-reason.js';
import { join } from 'node:path';
import type { OsUser } from '../adapters/os/os-user.js';
import { runCommand } from '../adapters/os/run-command.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { PGBACKREST_BIN, restoreArgs } from '../adapters/backup/pgbackrest-config.js';
import { withClient } from '../adapters/sql/connect.js';
import { setPassword } from '../adapters/sql/roles.js';
import { bootstrapMarker, bin, volumeDir } from './layout.js';
import { ensureDir, readSecret, writeConfig, writeOwned } from './files.js';
import { ensureStanza, writeSourceConf } from './pgbackrest.js';
import type { BootstrapProgress } from './bootstrap-progress.js';

/** Settings `pgbackrest restore` writes into postgresql.auto.conf; none may outlive the recovery. */
const RECOVERY_SETTINGS = [
  'restore_command', 'recovery_target', 'recovery_target_time', 'recovery_target_lsn', 'recovery_target_xid',
  'recovery_target_name', 'recovery_target_action', 'recovery_target_inclusive', 'recovery_target_timeline',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function recoverFromRepository(
  spec: InstanceSpec, user: OsUser | null, progress: (p: BootstrapProgress) => void, signal?: AbortSignal, timeoutMs = 6 * 3600_000,
): Promise<void> {
  if (spec.bootstrap.mode !== 'recovery') throw new Error('recovery called for another bootstrap');
  const r = spec.bootstrap.recovery;
  ensureDir(volumeDir(spec), user);
  rmSync(spec.dataDir, { recursive: true, force: true });
  ensureDir(spec.dataDir, user);
  ensureDir(spec.runDir, user);
  const sourceConf = writeSourceConf(spec, r.source, user);
  progress({ step: `pgbackrest restore from stanza ${r.source.stanza}`, percent: null });
  await runCommand(PGBACKREST_BIN, [`--config=${sourceConf}`, `--stanza=${r.source.stanza}`, 'restore', ...restoreArgs(r)], { user, ...(signal ? { signal } : {}) });
  writeConfig(spec, user, false);

  // The private start: replay to the target and promote.
  const socketDir = join(spec.runDir, 'recovery');
  ensureDir(socketDir, user);
  const hba = join(socketDir, 'pg_hba.conf');
  writeOwned(hba, `local all ${SUPERUSER} trust\n`, user);
  progress({ step: 'replaying WAL to the recovery target', percent: null });
  const logFrom = logEnd(spec.logFile);
  const log = openSync(spec.logFile, 'a');
  const child = spawn(bin(spec, 'postgres'), [
    '-D', spec.dataDir, '-c', "listen_addresses=", '-c', `unix_socket_directories=${socketDir}`, '-c', `hba_file=${hba}`,
    '-c', `port=${spec.port}`,
  ], { stdio: ['ignore', log, log], cwd: '/', ...(user ? { uid: user.uid, gid: user.gid } : {}) });
  closeSync(log);
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) => child.once('exit', (code, sig) => {
    const reason = code ? exitReason(spec.logFile, logFrom, child.pid) : undefined;
    exit = `postgres exited (${code ?? sig}) during recovery${reason ? `: ${reason}` : ''}; see ${spec.logFile}`;
    resolve();
  }));
  child.once('error', () => undefined);
  const local = { host: socketDir, port: spec.port, user: SUPERUSER, password: '' };
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exit) throw new Error(exit);
      if (signal?.aborted) throw new Error('recovery aborted');
      if (Date.now() > deadline) throw new Error('recovery did not reach its target in time');
      const inRecovery = await withClient(local, async (c) => (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r ?? true).catch(() => true);
      if (!inRecovery) break;
      await sleep(500);
    }
    progress({ step: 'promoted at the recovery target; taking ownership', percent: null });
    await withClient(local, async (c) => {
      for (const s of RECOVERY_SETTINGS) await c.query(`ALTER SYSTEM RESET ${s}`);
      await setPassword(c, SUPERUSER, readSecret(spec.secrets.superuser));
      await c.query('CHECKPOINT');
    }, 30_000);
    if (spec.backup) {
      progress({ step: `creating stanza ${spec.backup.stanza}`, percent: null });
      await ensureStanza(spec, user, { socketDir, password: null });
    }
  } finally {
    if (!exit) child.kill('SIGINT');
    await exited;
  }
  rmSync(join(spec.runDir, 'pgbackrest-source.conf'), { force: true });
  writeFileSync(bootstrapMarker(spec), new Date().toISOString());
  progress({ step: 'restored', percent: 100 });
}
