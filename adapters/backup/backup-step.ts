// The runBackup step (run by a BullMQ worker): pgbackrest backup of one cluster from a ready standby (prefer-standby)
// or the primary, then expire (retention), and the backup as `info` reports it. Idempotent: every backup carries
// the BackupJob's uid as a pgBackRest annotation, and a retried step that finds its own backup returns it instead
// of taking a second one. Secrets reach pgBackRest only through its 0600 config file and the environment.
import type { OsUser } from '../os/os-user.js';
import { withReadableCa } from './repo-ca.js';
import { runCommand, CommandError } from '../os/run-command.js';
import type { InstanceSpec } from '../instance/spec.js';
import { SUPERUSER } from '../instance/spec.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import type { PostgresClusterSpec, PostgresClusterStatus } from '../../crds/postgrescluster.js';
import { stanzaName, type RepositorySpec } from '../../crds/backup-repository.js';
import type { BackupRequest, BackupResult, BackupProgress } from '../../machines/backup/backup.types.js';
import { STEP_KINDS } from '../../actors/queues/queue-names.js';
import { BackupConfigError, PGBACKREST_BIN, renderPgbackrestConf } from './pgbackrest-config.js';
import { withClient, type Endpoint } from '../sql/connect.js';
import { takeFingerprint } from './fingerprint.js';
import { expireRecorded, beforeBackupAnnotation } from './expire-record.js';
import { readFileSync, writeFileSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import type { InfoBackup } from './info-backup.js';
export type { InfoBackup } from './info-backup.js';

/** Where the platform's instances are, as their agents see them (local: the spec files). */
export interface BackupHosts {
  instances(namespace: string, cluster: string): Promise<InstanceSpec[]>;
  /** The OS user postgres and its tools run as (null: whoever we are). */
  user: OsUser | null;
  /** S3 keys from the repository's credentials Secret, and a CA file path. */
  repoAccess(namespace: string, repo: RepositorySpec): Promise<{ credentials?: { accessKeyId: string; secretAccessKey: string }; caFile?: string }>;
}

export interface BackupStepDeps {
  store: ResourceReader;
  hosts: BackupHosts;
  /** Overall bound of one attempt (tests shorten it). */
  timeoutMs?: number;
}

export const ANNOTATION = 'pgop-backupjob';

export const describeRepository = (r: RepositorySpec): string =>
  r.posix ? `posix:${r.posix.path}` : r.s3 ? `s3://${r.s3.bucket}${r.s3.path}` : 'unknown';


/** Errors pgBackRest will repeat however often it is retried: bad credentials, refused access, a bad config. */
const PERMANENT = /\b403\b|Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|\[031\]|\[032\]|\[037\]|invalid value|option .* not valid/;

export function classify(e: unknown): Error {
  if (e instanceof PermanentError) return e;
  if (e instanceof BackupConfigError) return new PermanentError(e.message);
  if (e instanceof CommandError && PERMANENT.test(e.stderr)) return new PermanentError(e.message);
  return e instanceof Error ? e : new Error(String(e));
}

export function runBackupProcessor(deps: BackupStepDeps): StepProcessor {
  return async (data, progress, signal) => {
    const req = data as unknown as BackupRequest;
    try {
      return await takeBackup(deps, req, (p) => progress(p as unknown as Parameters<typeof progress>[0]), signal);
    } catch (e) {
      throw classify(e);
    }
  };
}

async function takeBackup(deps: BackupStepDeps, req: BackupRequest, progress: (p: BackupProgress) => Promise<void>, signal: AbortSignal): Promise<BackupResult> {
  if (req.kind === 'restore') throw new PermanentError('a restore is a new cluster: use spec.bootstrap.recovery');
  const cluster = await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster });
  if (!cluster) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
  const spec = cluster.spec as PostgresClusterSpec;
  if (!spec.backup) throw new PermanentError(`PostgresCluster ${req.cluster} has no spec.backup.repository; add one to take backups`);
  const status = cluster.status as PostgresClusterStatus | undefined;
  const primaryName = status?.currentPrimary;
  if (!primaryName) throw new Error(`PostgresCluster ${req.cluster} has no primary yet`);
  const specs = await deps.hosts.instances(req.namespace, req.cluster);
  const primary = specs.find((s) => s.name === primaryName);
  if (!primary) throw new Error(`primary ${primaryName} has no instance spec yet`);
  const standby = req.target === 'prefer-standby'
    ? (status?.instances ?? []).filter((i) => i.role === 'replica' && i.ready).sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))
      .map((i) => specs.find((s) => s.name === i.name)).find((s): s is InstanceSpec => !!s)
    : undefined;

  const stanza = stanzaName(req.namespace, req.cluster);
  const config = join(primary.runDir, 'pgbackrest-backup.conf');
  const user = deps.hosts.user;
  const access = withReadableCa(await deps.hosts.repoAccess(req.namespace, spec.backup.repository), primary.runDir, user, 'repo-backup-ca.crt');
  /** The step's config: pg1 the primary, pg2 the standby that copies (backup-standby), or the primary alone. */
  const backupSpec = spec.backup;
  const writeConfig = (from: InstanceSpec | undefined) => {
    writeFileSync(config, renderPgbackrestConf({
      stanza, repository: backupSpec.repository, ...access, retention: backupSpec.retention,
      pg: [primary, ...(from ? [from] : [])].map((s) => ({ path: s.dataDir, port: s.port, socketPath: s.runDir })),
      backupStandby: !!from, lockPath: join(primary.runDir, 'pgbackrest-lock'), ioTimeoutSeconds: 20,
    }), { mode: 0o600 });
    if (user) chownSync(config, user.uid, user.gid);
  };
  writeConfig(standby);
  const password = readFileSync(primary.secrets.superuser, 'utf8').trim();
  const timeout = AbortSignal.timeout(deps.timeoutMs ?? STEP_KINDS.runBackup.timeoutMs);
  const both = AbortSignal.any([signal, timeout]);
  const tool = (args: string[], onLine?: (l: string) => void) => runCommand(PGBACKREST_BIN, [`--config=${config}`, `--stanza=${stanza}`, ...args], {
    user, env: { PGPASSWORD: password }, signal: both, ...(onLine ? { onLine } : {}),
  });
  const info = async (): Promise<InfoBackup[]> => {
    const out = JSON.parse(await tool(['info', '--output=json'])) as { backup?: InfoBackup[] }[];
    return out[0]?.backup ?? [];
  };
  const annotated = async (label: string): Promise<InfoBackup | undefined> => {
    const out = JSON.parse(await tool(['info', '--output=json', `--set=${label}`])) as { backup?: InfoBackup[] }[];
    return out[0]?.backup?.find((b) => b.label === label);
  };
  /** A backup this very BackupJob already took (an earlier attempt finished, then the worker died). */
  const ours = async (list: InfoBackup[]): Promise<InfoBackup | undefined> => {
    const since = (Date.parse(req.createdAt) || 0) / 1000 - 60;
    for (const b of [...list].reverse().filter((x) => x.timestamp.start >= since)) {
      const full = await annotated(b.label);
      if (full?.annotation?.[ANNOTATION] === req.uid) return full;
    }
    return undefined;
  };

  const startedAt = new Date().toISOString();
  let copiedBy = standby ?? primary;
  let note: string | undefined;
  await progress({ percent: 0, detail: `pgbackrest ${req.backupType} backup from ${copiedBy.name}`, startedAt });
  const before = await info().catch(() => [] as InfoBackup[]);
  let done = await ours(before);
  if (!done) {
    const total = await withClient({ host: primary.runDir, port: primary.port, user: SUPERUSER, password },
      async (c) => Number((await c.query<{ n: string }>('SELECT sum(pg_database_size(datname))::bigint AS n FROM pg_database')).rows[0]?.n ?? 0)).catch(() => 0);
    const backup = async (from: InstanceSpec) => {
      let last = -1;
      const pending: Promise<void>[] = [];
      const detail = `pgbackrest ${req.backupType} backup from ${from.name}${note ? ` (${note})` : ''}`;
      try {
        await tool([
          'backup', `--type=${req.backupType}`, `--annotation=${ANNOTATION}=${req.uid}`, beforeBackupAnnotation(before.map((b) => b.label)),
          '--log-level-console=detail',
        ], (line) => {
          const m = /\((?:[\d.]+[KMGT]?B), ([\d.]+)%\)/.exec(line);
          if (!m) return;
          const percent = Number(m[1]);
          if (Math.floor(percent / 5) === last) return;
          last = Math.floor(percent / 5);
          pending.push(progress({
            percent, detail, startedAt,
            ...(total ? { bytesTotal: total, bytesDone: Math.round((total * percent) / 100) } : {}),
          }).catch(() => undefined));
        });
      } finally {
        await Promise.all(pending);
      }
    };
    const failed = await backup(copiedBy).then(() => null, (e: unknown) => ({ e }));
    if (failed) {
      if (!standby || !fallsBackToPrimary(failed.e, both)) throw failed.e;
      // pgBackRest can fail after saving the backup (its own expire pass at the end): then that is the job's backup.
      if (!(await ours(await info()).catch(() => undefined))) {
        // prefer-standby: the standby's pgBackRest ended with an error of its own (a stalled replay, a standby it
        // could not reach), so nothing of that attempt still runs and the primary can take the backup. The config
        // returns to the primary alone; the result says why.
        note = `prefer-standby: the backup on standby ${standby.name} failed (${(failed.e as Error).message.slice(0, 300)}); backed up on the primary`;
        copiedBy = primary;
        writeConfig(undefined);
        await progress({ percent: 0, detail: `pgbackrest ${req.backupType} backup from ${primary.name} (${note})`, startedAt });
        await backup(primary);
      }
    }
    done = await ours(await info());
    if (!done) throw new Error('pgbackrest reported success but info lists no backup annotated with this job');
  }
  // The explicit expire is what makes retention hold right after this backup (the retention test sees the
  // backup command's own pass leave the oldest full backup in place), and it says so in the log. What it removed
  // is recorded on the backup itself, so a retry of this step reports the same list.
  const expired = await expireRecorded({ tool: (args) => tool(args), list: info }, done);
  const saved: BackupResult = {
    ...backupResult(done, { instance: copiedBy.name, stanza, repository: describeRepository(spec.backup.repository), expired }),
    ...(note ? { note } : {}),
  };
  // The backup is in the repository: the BackupJob is Succeeded from here on, and what follows only adds to it.
  await progress({ percent: 100, detail: 'backup saved; recording the table fingerprint for restore rehearsals', startedAt, saved });
  // Rows per table exact at a named restore point after the backup, for restore rehearsals; a WAL switch then hands
  // the segment holding it to archive_command, and the step ends once it is archived, so a rehearsal can replay to
  // it (what `pgbackrest check` does, without starting another pgBackRest process). The name is new on every
  // attempt: a rehearsal stops at the first restore point of a name. A fingerprint that cannot be taken (tables
  // locked by long transactions, archiving stuck) is recorded as such: it never turns a good backup into a failure.
  const endpoint = { host: primary.runDir, port: primary.port, user: SUPERUSER, password };
  try {
    const fingerprint = await takeFingerprint(endpoint, fingerprintRestorePoint(done.label), () => new Date().toISOString());
    await waitArchived(endpoint, fingerprint.lsn, both);
    return { ...saved, fingerprint };
  } catch (e) {
    if (both.aborted) throw e;
    return { ...saved, fingerprintError: (e as Error).message };
  }
}

/** pgBackRest's LockAcquireError: another backup of the stanza holds the lock (one may still be running). */
export const LOCK_HELD = /\[050\]|unable to acquire lock/i;

/**
 * Whether a failed backup from the standby may be taken again from the primary at once: only when pgBackRest ended
 * with an error of its own. Not when the step was aborted (timeout, shutdown), when the stanza's lock is held
 * (another backup runs), or on an error the primary would repeat (credentials, config: PERMANENT).
 */
export function fallsBackToPrimary(e: unknown, signal: AbortSignal): boolean {
  if (signal.aborted || !(e instanceof CommandError) || e.code === null) return false;
  return !LOCK_HELD.test(e.stderr) && !LOCK_HELD.test(e.message) && !PERMANENT.test(e.stderr);
}

/** A restore point name no earlier attempt used: pgop-fp-<backup label>-<time>, within PostgreSQL's 63 bytes. */
export const fingerprintRestorePoint = (label: string) => `pgop-fp-${label}-${Date.now().toString(36)}`;

const ARCHIVE_WAIT_MS = 60_000;

/** Switches WAL and waits until the segment holding `lsn` is archived; an archiving error ends the wait with its text. */
async function waitArchived(ep: Endpoint, lsn: string, signal: AbortSignal): Promise<void> {
  await withClient(ep, async (c) => {
    // The fingerprint's restore point is a WAL record, so the switch below always closes the segment holding it (on
    // an idle cluster a bare pg_switch_wal() with nothing written is a no-op).
    const switched = (await c.query<{ f: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS f')).rows[0]!.f;
    const holding = (await c.query<{ f: string }>('SELECT pg_walfile_name($1::pg_lsn) AS f', [lsn])).rows[0]!.f;
    const segment = holding > switched ? holding : switched;
    const deadline = Date.now() + ARCHIVE_WAIT_MS;
    for (;;) {
      // WAL file names sort by timeline, then position: archived up to here means this segment is in the repository.
      const a = (await c.query<{ last: string | null; failed: string | null; failedAt: string | null }>(
        'SELECT last_archived_wal AS last, last_failed_wal AS failed, last_failed_time::text AS "failedAt" FROM pg_stat_archiver')).rows[0];
      if (a?.last && a.last.slice(0, 24) >= segment) return;
      if (signal.aborted) throw new Error('backup step aborted while waiting for WAL archiving');
      if (Date.now() > deadline) {
        throw new Error(`WAL segment ${segment} was not archived within ${ARCHIVE_WAIT_MS / 1000} s${a?.failed ? ` (last failure: ${a.failed} at ${a.failedAt ?? '?'}; see the primary's log)` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 10_000);
}

/** A backup as pgBackRest's `info` lists it, as the BackupJob records it. */
export function backupResult(done: InfoBackup, o: Pick<BackupResult, 'instance' | 'stanza' | 'repository' | 'expired' | 'fingerprint' | 'fingerprintError'>): BackupResult {
  const walStart = done.archive.start ?? '';
  return {
    label: done.label, type: done.type, instance: o.instance, stanza: o.stanza, repository: o.repository,
    startedAt: new Date(done.timestamp.start * 1000).toISOString(), stoppedAt: new Date(done.timestamp.stop * 1000).toISOString(),
    durationSeconds: Math.max(0, done.timestamp.stop - done.timestamp.start),
    startLsn: done.lsn.start, stopLsn: done.lsn.stop, walStart, walEnd: done.archive.stop ?? '',
    timeline: walStart ? parseInt(walStart.slice(0, 8), 16) : 0,
    sizeBytes: done.info.size, repositorySizeBytes: done.info.repository.size,
    expired: o.expired, ...(o.fingerprint ? { fingerprint: o.fingerprint } : {}), ...(o.fingerprintError ? { fingerprintError: o.fingerprintError } : {}),
  };
}
