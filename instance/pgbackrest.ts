// The agent's pgBackRest work: create its cluster's stanza (idempotent, on every primary start, so a promoted
// replica or a restored cluster archives into an existing stanza) and restore a data directory from a repository.
import { mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OsUser } from '../adapters/os/os-user.js';
import { handOver } from '../adapters/os/os-user.js';
import { runCommand } from '../adapters/os/run-command.js';
import type { BackupRepo, InstanceSpec } from '../adapters/instance/spec.js';
import { PGBACKREST_BIN, renderPgbackrestConf } from '../adapters/backup/pgbackrest-config.js';
import { pgbackrestConfPath } from './render.js';
import { installRepoCa, readSecret, repoCredentials, writeOwned, writePgbackrestConf } from './files.js';

/** A posix repository directory the postgres OS user can write (created with its missing parents). */
export function ensurePosixRepository(repo: BackupRepo, user: OsUser | null): void {
  const path = repo.repository.posix?.path;
  if (!path) return;
  if (!existsSync(path)) {
    mkdirSync(path, { recursive: true, mode: 0o750 });
    handOver(path, user);
  }
}

/**
 * `stanza-create` for this instance's cluster. It connects to the local postgres (socket, superuser password in
 * the environment, never argv); an existing, matching stanza is a success.
 */
export async function ensureStanza(spec: InstanceSpec, user: OsUser | null, opts: { socketDir?: string; password?: string | null } = {}): Promise<void> {
  if (!spec.backup) return;
  ensurePosixRepository(spec.backup, user);
  writePgbackrestConf(spec, user);
  const password = opts.password === undefined ? readSecret(spec.secrets.superuser) : opts.password;
  await runCommand(PGBACKREST_BIN, [
    `--config=${pgbackrestConfPath(spec)}`, `--stanza=${spec.backup.stanza}`,
    ...(opts.socketDir ? [`--pg1-socket-path=${opts.socketDir}`] : []), 'stanza-create',
  ], { user, env: password ? { PGPASSWORD: password } : {} });
}

/** The read-only view of the source's repository used by a restore: its stanza, this data directory as pg1. */
export function writeSourceConf(spec: InstanceSpec, from: BackupRepo, user: OsUser | null): string {
  const file = join(spec.runDir, 'pgbackrest-source.conf');
  const source = installRepoCa(spec, from, user, 'repo-source-ca.crt');
  writeOwned(file, renderPgbackrestConf({
    stanza: source.stanza, repository: source.repository, credentials: repoCredentials(source), caFile: source.caFile,
    pg: [{ path: spec.dataDir, port: spec.port, socketPath: spec.runDir }],
    lockPath: join(spec.runDir, 'pgbackrest-lock'),
  }), user);
  return file;
}

const SEGMENT = /^[0-9A-F]{24}$/;

/**
 * After a promotion: push the complete segments of earlier timelines this instance holds in pg_wal. The old
 * primary may have died before archiving them; with archive_mode=on a standby never archives what it received.
 * pgBackRest accepts a segment it already holds with the same checksum, so pushing again is harmless.
 */
export async function pushEarlierTimelines(spec: InstanceSpec, user: OsUser | null, currentTimeline: number): Promise<string[]> {
  if (!spec.backup) return [];
  const walDir = join(spec.dataDir, 'pg_wal');
  const segments = readdirSync(walDir).filter((f) => SEGMENT.test(f) && parseInt(f.slice(0, 8), 16) < currentTimeline).sort();
  const pushed: string[] = [];
  for (const seg of segments) {
    await runCommand(PGBACKREST_BIN, [`--config=${pgbackrestConfPath(spec)}`, `--stanza=${spec.backup.stanza}`, 'archive-push', join(walDir, seg)], { user });
    pushed.push(seg);
  }
  return pushed;
}
