// The verifyRestore step (run by a BullMQ worker): a restore rehearsal. The latest backup in the cluster's
// repository is restored into a throwaway data directory, replayed to the named restore point of the table
// fingerprint recorded with that backup (older fingerprints: its WAL position) (or to its consistency point when none was recorded) and promoted by a private
// postgres — no TCP listener, a socket in a 0700 directory, trust only there, archiving off so nothing is ever
// written into the repository — then the fingerprint is compared, every btree index is checked with amcheck,
// postgres stops and pg_checksums checks every page. Everything is removed afterwards. A backup that fails any of
// this is a result (verified: false, with the reason), not an error: only "could not even try" is thrown.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, chmodSync, chownSync, writeFileSync, rmSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, CommandError } from '../os/run-command.js';
import { SUPERUSER } from '../instance/spec.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { BackupJob, TableFingerprint } from '../../crds/backupjob.js';
import { stanzaName } from '../../crds/backup-repository.js';
import type { VerifyRequest, VerifyResult, VerifyReason } from '../../machines/restore-verify/restore-verify.types.js';
import { withReadableCa } from './repo-ca.js';
import { PGBACKREST_BIN, renderPgbackrestConf, restoreArgs, type RepoAccess } from './pgbackrest-config.js';
import type { OsUser } from '../os/os-user.js';
import { stanzaInfo } from './repository-info.js';
import { countTables, fingerprintMismatches } from './fingerprint.js';
import { exitReason } from '../instance/exit-reason.js';
import { withClient, ident, type Endpoint } from '../sql/connect.js';
import type { BackupHosts } from './backup-step.js';
import { classify } from './backup-step.js';
import { awaitRunningBackups } from './running-backups.js';
import { freePort } from '../local/ports.js';

export interface VerifyStepDeps {
  store: ResourceReader;
  hosts: BackupHosts;
  /** Where throwaway instances live (default: the system temp directory). */
  workRoot?: string;
  /** Seconds a private postgres may take to replay and promote. */
  replayTimeoutMs?: number;
}

export type Progress = (p: { percent: number | null; detail: string }) => Promise<void>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lastLines = (s: string, n = 3) => s.trim().split('\n').slice(-n).join(' | ');

export function verifyRestoreProcessor(deps: VerifyStepDeps): StepProcessor {
  return async (data, progress, signal) => {
    try {
      return await rehearse(deps, data as unknown as VerifyRequest, (p) => progress(p), signal);
    } catch (e) {
      throw classify(e);
    }
  };
}

/** The fingerprint recorded by the BackupJob that took `label`, if one did. */
async function recordedFingerprint(store: ResourceReader, namespace: string, cluster: string, label: string): Promise<TableFingerprint | null> {
  const jobs = (await store.list('BackupJob')) as BackupJob[];
  const job = jobs.find((j) => (j.metadata.namespace ?? 'default') === namespace && j.spec.cluster.name === cluster && j.status?.backupId === label);
  return job?.status?.fingerprint ?? null;
}

async function rehearse(deps: VerifyStepDeps, req: VerifyRequest, progress: Progress, signal: AbortSignal): Promise<VerifyResult> {
  const cluster = await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster });
  if (!cluster) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
  const spec = cluster.spec as PostgresClusterSpec;
  if (!spec.backup) throw new PermanentError(`PostgresCluster ${req.cluster} has no spec.backup.repository`);
  const pgBinDir = (await deps.hosts.instances(req.namespace, req.cluster))[0]?.pgBinDir;
  if (!pgBinDir) throw new Error(`PostgresCluster ${req.cluster} has no instance to take the PostgreSQL binaries from yet`);
  await awaitRunningBackups(deps.store, req.namespace, req.cluster,
    (jobs) => progress({ percent: 0, detail: `waiting for BackupJob ${jobs.join(', ')} to record its backup` }), signal);
  return rehearseLatest({
    stanza: stanzaName(req.namespace, req.cluster), access: { repository: spec.backup.repository, ...(await deps.hosts.repoAccess(req.namespace, spec.backup.repository)) },
    user: deps.hosts.user, pgBinDir, fingerprintFor: (label) => recordedFingerprint(deps.store, req.namespace, req.cluster, label),
    ...(deps.workRoot ? { workRoot: deps.workRoot } : {}), ...(deps.replayTimeoutMs ? { replayTimeoutMs: deps.replayTimeoutMs } : {}),
  }, req.startedAt, progress, signal);
}

/** What a rehearsal needs wherever it runs: the operator's worker (local) or an instance's agent (Kubernetes). */
export interface RehearsalSource {
  stanza: string;
  access: RepoAccess;
  user: OsUser | null;
  pgBinDir: string;
  /** The table fingerprint recorded with a backup (by its BackupJob), if one was. */
  fingerprintFor(label: string): Promise<TableFingerprint | null>;
  workRoot?: string;
  replayTimeoutMs?: number;
}

export async function rehearseLatest(o: RehearsalSource, decidedAt: string, progress: Progress, signal: AbortSignal): Promise<VerifyResult> {
  const { stanza, access, user, pgBinDir } = o;
  const startedAt = decidedAt || new Date().toISOString();
  const result = (verified: boolean, reason: VerifyReason, message: string, extra: Partial<VerifyResult> = {}): VerifyResult => {
    const finishedAt = new Date().toISOString();
    return { verified, reason, message, startedAt, finishedAt, durationSeconds: Math.max(0, Math.round((Date.parse(finishedAt) - Date.parse(startedAt)) / 1000)), ...extra };
  };

  await progress({ percent: 0, detail: 'choosing the latest backup' });
  const info = await stanzaInfo(stanza, access, user);
  const latest = info.backups.at(-1);
  if (!latest) return result(false, 'NoBackup', `the repository holds no backup of stanza ${stanza} yet`);
  const fingerprint = await o.fingerprintFor(latest.label);

  const work = mkdtempSync(join(o.workRoot ?? tmpdir(), 'pgop-rehearsal-'));
  const dataDir = join(work, 'data');
  const socketDir = join(work, 'socket');
  for (const d of [dataDir, socketDir]) mkdirSync(d, { mode: 0o700 });
  chmodSync(work, 0o700);
  if (user) for (const d of [work, dataDir, socketDir]) chownSync(d, user.uid, user.gid);
  const owned = (file: string, text: string) => { writeFileSync(file, text, { mode: 0o600 }); if (user) chownSync(file, user.uid, user.gid); };
  let postgres: ReturnType<typeof spawn> | undefined;
  let exited: Promise<void> = Promise.resolve();
  let exit: string | null = null;
  const extra = { backup: latest.label, tablesCompared: fingerprint?.tables.length ?? 0 };
  try {
    // Restore: a config naming the source stanza with the throwaway directory as pg1; nothing is written to the repository.
    const config = join(work, 'pgbackrest.conf');
    owned(config, renderPgbackrestConf({ stanza, ...withReadableCa(access, work, user), pg: [{ path: dataDir, port: 5432, socketPath: socketDir }], lockPath: join(work, 'lock') }));
    // The restore point written with the fingerprint is where its counts are exact; older fingerprints name only a
    // snapshot's WAL position (exact on a quiet cluster only).
    const target = !fingerprint ? [`--set=${latest.label}`, '--type=immediate', '--target-action=promote']
      : restoreArgs({ backup: latest.label, target: fingerprint.restorePoint ? { name: fingerprint.restorePoint, inclusive: true } : { lsn: fingerprint.lsn, inclusive: true } });
    await progress({ percent: 10, detail: `restoring backup ${latest.label}` });
    try {
      await runCommand(PGBACKREST_BIN, [`--config=${config}`, `--stanza=${stanza}`, 'restore', ...target], { user, signal });
    } catch (e) {
      if (signal.aborted) throw e;
      return result(false, 'RestoreFailed', `pgbackrest restore of ${latest.label} failed: ${e instanceof CommandError ? lastLines(e.stderr) : (e as Error).message}`, extra);
    }

    await progress({ percent: 40, detail: fingerprint ? `replaying WAL to ${fingerprint.restorePoint ? `restore point ${fingerprint.restorePoint} at ` : ''}${fingerprint.lsn}` : 'replaying WAL to the backup\'s consistency point' });
    const port = await freePort();
    const hba = join(socketDir, 'pg_hba.conf');
    owned(hba, `local all ${SUPERUSER} trust\n`);
    const logFile = join(work, 'postgres.log');
    const log = openSync(logFile, 'a');
    if (user) chownSync(logFile, user.uid, user.gid);
    postgres = spawn(join(pgBinDir, 'postgres'), [
      '-D', dataDir, '-c', 'listen_addresses=', '-c', `unix_socket_directories=${socketDir}`, '-c', `hba_file=${hba}`, '-c', `port=${port}`,
      // Never archive from a throwaway copy, never wait for standbys, never reach for the source's TLS files or primary.
      '-c', 'archive_mode=off', '-c', 'synchronous_standby_names=', '-c', 'ssl=off', '-c', 'primary_conninfo=', '-c', 'logging_collector=off',
      // (max_connections, max_wal_senders and the like stay as backed up: recovery refuses lower values.)
    ], { stdio: ['ignore', log, log], cwd: '/', ...(user ? { uid: user.uid, gid: user.gid } : {}) });
    closeSync(log);
    const child = postgres;
    exited = new Promise<void>((resolve) => child.once('exit', (code, sig) => { exit = `postgres exited (${code ?? sig})`; resolve(); }));
    child.once('error', () => undefined);
    const local: Endpoint = { host: socketDir, port, user: SUPERUSER, password: '' };
    const deadline = Date.now() + (o.replayTimeoutMs ?? 3600_000);
    for (;;) {
      if (exit) {
        const tail = exitReason(logFile, 0, child.pid) ?? (() => {
          try { return readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | '); } catch { return ''; }
        })();
        return result(false, 'RestoreFailed', `the restored copy of ${latest.label} did not start or replay: ${exit}: ${tail}`, extra);
      }
      if (signal.aborted) throw new Error('rehearsal aborted');
      if (Date.now() > deadline) return result(false, 'RestoreFailed', `the restored copy of ${latest.label} did not finish replaying in time`, extra);
      const inRecovery = await withClient(local, async (c) => (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r ?? true).catch(() => true);
      if (!inRecovery) break;
      await sleep(300);
    }

    let mismatches: string[] = [];
    if (fingerprint) {
      await progress({ percent: 60, detail: `comparing ${fingerprint.tables.length} table counts` });
      mismatches = fingerprintMismatches(fingerprint, await countTables(local, fingerprint.tables));
    }
    await progress({ percent: 70, detail: 'amcheck on every btree index' });
    const corrupt = await amcheckAll(local);

    await progress({ percent: 85, detail: 'pg_checksums on the stopped copy' });
    child.kill('SIGINT');
    await exited;
    const checksums = await runCommand(join(pgBinDir, 'pg_checksums'), ['--check', '-D', dataDir], { user, signal })
      .then(() => ({ ok: true, text: 'pg_checksums found no failure' }))
      .catch((e: unknown) => {
        const text = e instanceof CommandError ? lastLines(e.stderr) : (e as Error).message;
        return /checksums are not enabled/.test(text) ? { ok: true, text: 'data checksums are off in this cluster (pg_checksums skipped)' } : { ok: false, text };
      });

    if (!checksums.ok) return result(false, 'ChecksumFailure', `pg_checksums on the restored copy of ${latest.label}: ${checksums.text}`, extra);
    if (corrupt.length) return result(false, 'IndexCorruption', `amcheck: ${corrupt.slice(0, 5).join('; ')}${corrupt.length > 5 ? ` (+${corrupt.length - 5} more)` : ''}`, extra);
    if (mismatches.length) return result(false, 'FingerprintMismatch', `row counts differ from the backup's fingerprint: ${mismatches.slice(0, 5).join('; ')}${mismatches.length > 5 ? ` (+${mismatches.length - 5} more)` : ''}`, extra);
    const compared = fingerprint ? `${fingerprint.tables.length} table row counts match the fingerprint at ${fingerprint.lsn}` : 'no fingerprint was recorded with this backup';
    return result(true, 'RestoreVerified', `${compared}; amcheck clean; ${checksums.text}`, extra);
  } finally {
    if (postgres && !exit) { postgres.kill('SIGINT'); await exited; }
    rmSync(work, { recursive: true, force: true });
  }
}

/** bt_index_check on every valid btree index of every database; each problem names its index. */
async function amcheckAll(ep: Endpoint): Promise<string[]> {
  const dbs = await withClient(ep, async (c) => (await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn ORDER BY datname')).rows.map((r) => r.datname));
  const problems: string[] = [];
  for (const db of dbs) {
    await withClient({ ...ep, database: db }, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS amcheck');
      const idx = await c.query<{ nspname: string; relname: string; oid: number }>(
        `SELECT n.nspname, c.relname, c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree' AND i.indisvalid AND i.indisready AND c.relpersistence = 'p' ORDER BY 1, 2`);
      for (const r of idx.rows) {
        try { await c.query('SELECT bt_index_check($1::regclass)', [r.oid]); } catch (e) { problems.push(`${db}.${ident(r.nspname)}.${ident(r.relname)}: ${(e as Error).message}`); }
      }
    }, 30 * 60_000);
  }
  return problems;
}
