// Pure: the pgBackRest configuration file and the archive/restore commands postgres runs. Admission already
// checked every manifest value against the CRD patterns; this renders only what passes the same patterns again
// and throws otherwise (a spec file can come from an older operator or a hand edit), because one stray newline
// or quote here would add a setting to the config or a word to a shell command. Secrets only ever go into the
// 0600 config file, never into argv.
import {
  REPO_PATH_PATTERN, S3_BUCKET_PATTERN, IP_ENDPOINT_PATTERN, S3_ENDPOINT_PATTERN, S3_REGION_PATTERN, BACKUP_LABEL_PATTERN, LSN_PATTERN,
  XID_PATTERN, RESTORE_POINT_PATTERN, COMPRESSION_TYPES, MAX_PARALLEL, type RepositorySpec, type RecoveryTarget,
} from '../../crds/backup-repository.js';

export const PGBACKREST_CONF = 'pgbackrest.conf';
export const PGBACKREST_BIN = 'pgbackrest';

/** A stanza as stanzaName() makes it: two DNS labels joined by `_`. */
export const STANZA_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?_[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Paths the operator itself makes (data dir, sockets): plain characters, so they are safe in a shell command. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]{0,1023}$/;
/** Access keys and secrets: printable ASCII without spaces (nothing that could end a config line). */
const SECRET_VALUE = /^[\x21-\x7e]{1,256}$/;

export class BackupConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'BackupConfigError'; }
}

const check = (ok: boolean, what: string, value: unknown) => {
  if (!ok) throw new BackupConfigError(`refusing ${what} ${JSON.stringify(value)}: it does not match the allowed pattern`);
};
const safePath = (what: string, p: string) => check(SAFE_PATH.test(p) && !/(^|\/)\.\.(\/|$)/.test(p), what, p);

/** Why a repository cannot be rendered, or [] — the renderer's own check, the same patterns as the CRD. */
export function repositoryProblems(repo: RepositorySpec): string[] {
  const out: string[] = [];
  const re = (p: string) => new RegExp(p);
  const dotdot = (p: string) => /(^|\/)\.\.(\/|$)/.test(p);
  if (!!repo.posix === !!repo.s3) out.push('set exactly one of repository.posix, repository.s3');
  if (repo.posix && (!re(REPO_PATH_PATTERN).test(repo.posix.path) || dotdot(repo.posix.path))) out.push(`repository.posix.path ${JSON.stringify(repo.posix.path)} must be an absolute path of letters, digits, and . _ / - without ..`);
  if (repo.s3) {
    const s = repo.s3;
    if (!re(S3_ENDPOINT_PATTERN).test(s.endpoint) || re(IP_ENDPOINT_PATTERN).test(s.endpoint)) out.push(`repository.s3.endpoint ${JSON.stringify(s.endpoint)} must be a DNS name, optionally :port`);
    if (!re(S3_BUCKET_PATTERN).test(s.bucket)) out.push(`repository.s3.bucket ${JSON.stringify(s.bucket)} is not a valid bucket name`);
    if (!re(S3_REGION_PATTERN).test(s.region)) out.push(`repository.s3.region ${JSON.stringify(s.region)} is not a valid region`);
    if (!re(REPO_PATH_PATTERN).test(s.path) || dotdot(s.path)) out.push(`repository.s3.path ${JSON.stringify(s.path)} must be an absolute path of letters, digits, and . _ / - without ..`);
    if (s.uriStyle !== 'host' && s.uriStyle !== 'path') out.push('repository.s3.uriStyle must be host or path');
    if (s.verifyTLS !== true) out.push('repository.s3.verifyTLS cannot be turned off');
  }
  if (repo.compression !== undefined && !(COMPRESSION_TYPES as readonly string[]).includes(repo.compression)) {
    out.push(`repository.compression ${JSON.stringify(repo.compression)} must be one of ${COMPRESSION_TYPES.join(', ')}`);
  }
  if (repo.parallel !== undefined && !(Number.isInteger(repo.parallel) && repo.parallel >= 1 && repo.parallel <= MAX_PARALLEL)) {
    out.push(`repository.parallel ${JSON.stringify(repo.parallel)} must be a whole number from 1 to ${MAX_PARALLEL}`);
  }
  return out;
}

export interface PgHost {
  /** The data directory. */
  path: string;
  port: number;
  /** Directory of the unix socket. */
  socketPath: string;
  /**
   * Another Pod's instance, reached through its pgBackRest TLS server (ADR 0035): the paths above are as that Pod
   * sees them; this side presents its own certificate (its CN is what the server's tls-server-auth admits).
   */
  tls?: TlsPeer;
}

export interface TlsPeer { host: string; port: number; certFile: string; keyFile: string; caFile: string }

/** The default port of `pgbackrest server`; every instance Pod listens on it (Pod spec, NetworkPolicy). */
export const PGBACKREST_TLS_PORT = 8432;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** A certificate CN as tls-server-auth takes it: DNS-ish characters only (the cluster CA issues `<cluster>.<namespace>`). */
const AUTH_CN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

function tlsPeerLines(i: number, t: TlsPeer): string[] {
  check(IPV4.test(t.host), 'pgBackRest TLS host', t.host);
  check(Number.isInteger(t.port) && t.port > 0 && t.port < 65536, 'pgBackRest TLS port', t.port);
  for (const f of [t.certFile, t.keyFile, t.caFile]) safePath('certificate file', f);
  return [`pg${i}-host=${t.host}`, `pg${i}-host-type=tls`, `pg${i}-host-port=${t.port}`,
    `pg${i}-host-cert-file=${t.certFile}`, `pg${i}-host-key-file=${t.keyFile}`, `pg${i}-host-ca-file=${t.caFile}`];
}

export interface ServerConfOptions {
  /** The pod IP the server listens on (not 0.0.0.0: only the Pod's own address). */
  address: string;
  port: number;
  certFile: string; keyFile: string; caFile: string;
  /** The CN a client certificate must carry, and the one stanza it may use. */
  clientCn: string;
  stanza: string;
  lockPath: string;
}

/**
 * The config of this instance's `pgbackrest server`: TLS with the cluster certificate, clients verified against
 * the cluster CA and admitted only with the cluster's CN, for this cluster's stanza only. No repository: the
 * remote it forks only reads this data directory and talks to the local postgres for the client.
 */
export function renderPgbackrestServerConf(o: ServerConfOptions): string {
  check(IPV4.test(o.address), 'TLS server address', o.address);
  check(Number.isInteger(o.port) && o.port > 0 && o.port < 65536, 'TLS server port', o.port);
  check(AUTH_CN.test(o.clientCn), 'client certificate CN', o.clientCn);
  check(STANZA_PATTERN.test(o.stanza), 'stanza', o.stanza);
  for (const f of [o.certFile, o.keyFile, o.caFile, o.lockPath]) safePath('server file', f);
  return ['# Written by pgop; edits are overwritten.', '[global]',
    `tls-server-address=${o.address}`, `tls-server-port=${o.port}`,
    `tls-server-cert-file=${o.certFile}`, `tls-server-key-file=${o.keyFile}`, `tls-server-ca-file=${o.caFile}`,
    `tls-server-auth=${o.clientCn}=${o.stanza}`,
    `lock-path=${o.lockPath}`, 'log-level-console=off', 'log-level-stderr=warn', 'log-level-file=off', ''].join('\n');
}

export interface RepoAccess {
  repository: RepositorySpec;
  /** S3 access key and secret, read from the credentials Secret; written only into the 0600 file. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** CA bundle file to verify the S3 endpoint with (a private CA). */
  caFile?: string | undefined;
  retention?: { fullCount?: number | undefined; days?: number | undefined } | undefined;
}

export interface ConfOptions extends RepoAccess {
  stanza: string;
  /** pg1 first; with a second host and backupStandby, pgBackRest copies files from the standby. None: repository-only commands (info). */
  pg: PgHost[];
  backupStandby?: boolean;
  lockPath: string;
  /** Bounds every network wait so a wrong repository fails within minutes, not hours. */
  ioTimeoutSeconds?: number;
}

function repoLines(a: RepoAccess): string[] {
  const problems = repositoryProblems(a.repository);
  if (problems.length) throw new BackupConfigError(problems.join('; '));
  const lines: string[] = [];
  if (a.repository.posix) {
    lines.push('repo1-type=posix', `repo1-path=${a.repository.posix.path}`);
  } else if (a.repository.s3) {
    const s = a.repository.s3;
    const [host, port] = s.endpoint.split(':');
    lines.push(
      'repo1-type=s3', `repo1-path=${s.path}`, `repo1-s3-endpoint=${host}`, `repo1-s3-bucket=${s.bucket}`,
      `repo1-s3-region=${s.region}`, `repo1-s3-uri-style=${s.uriStyle}`, 'repo1-storage-verify-tls=y',
    );
    if (port) lines.push(`repo1-storage-port=${Number(port)}`);
    if (a.caFile) { safePath('CA file', a.caFile); lines.push(`repo1-storage-ca-file=${a.caFile}`); }
    if (!a.credentials) throw new BackupConfigError('repository.s3 needs credentials (credentialsSecret with accessKeyId and secretAccessKey)');
    check(SECRET_VALUE.test(a.credentials.accessKeyId), 'S3 access key id (not shown)', '');
    check(SECRET_VALUE.test(a.credentials.secretAccessKey), 'S3 secret access key (not shown)', '');
    lines.push(`repo1-s3-key=${a.credentials.accessKeyId}`, `repo1-s3-key-secret=${a.credentials.secretAccessKey}`);
  }
  if (a.repository.compression) lines.push(`compress-type=${a.repository.compression}`);
  if (a.repository.parallel) lines.push(`process-max=${a.repository.parallel}`);
  const r = a.retention;
  // Without a retention the repository keeps everything; saying so explicitly silences pgBackRest's warning.
  if (r?.fullCount === undefined && r?.days === undefined) lines.push('repo1-retention-full=9999999');
  if (r?.fullCount !== undefined) { check(Number.isInteger(r.fullCount) && r.fullCount >= 1, 'retention.fullCount', r.fullCount); lines.push(`repo1-retention-full=${r.fullCount}`); }
  if (r?.days !== undefined) {
    check(Number.isInteger(r.days) && r.days >= 1, 'retention.days', r.days);
    // With both set, time-based retention would override the count; the count is the stricter promise.
    if (r.fullCount === undefined) lines.push('repo1-retention-full-type=time', `repo1-retention-full=${r.days}`);
  }
  return lines;
}

/** The whole pgbackrest.conf: one repository, one stanza, its PostgreSQL hosts (local, or a peer's TLS server). */
export function renderPgbackrestConf(o: ConfOptions): string {
  check(STANZA_PATTERN.test(o.stanza), 'stanza', o.stanza);
  safePath('lock path', o.lockPath);
  const global = [
    ...repoLines(o),
    `lock-path=${o.lockPath}`,
    // Errors go to stderr (postgres logs them for archive_command; the worker reports them); no log files.
    'log-level-console=off', 'log-level-stderr=warn', 'log-level-file=off',
    'start-fast=y', 'delta=y',
    `io-timeout=${o.ioTimeoutSeconds ?? 30}`, 'db-timeout=60', 'protocol-timeout=90', 'archive-timeout=60',
    ...(o.backupStandby ? ['backup-standby=y'] : []),
  ];
  const stanza = o.pg.flatMap((h, i) => {
    safePath('data directory', h.path);
    safePath('socket directory', h.socketPath);
    check(Number.isInteger(h.port) && h.port > 0 && h.port < 65536, 'port', h.port);
    return [`pg${i + 1}-path=${h.path}`, `pg${i + 1}-port=${h.port}`, `pg${i + 1}-socket-path=${h.socketPath}`, `pg${i + 1}-user=postgres`,
      ...(h.tls ? tlsPeerLines(i + 1, h.tls) : [])];
  });
  return ['# Written by pgop; edits are overwritten.', '[global]', ...global, '', `[${o.stanza}]`, ...stanza, ''].join('\n');
}

/** archive_command: postgres runs it through a shell, so every word is checked to be shell-safe. */
export function archiveCommand(configFile: string, stanza: string): string {
  safePath('config file', configFile);
  check(STANZA_PATTERN.test(stanza), 'stanza', stanza);
  return `${PGBACKREST_BIN} --config=${configFile} --stanza=${stanza} archive-push %p`;
}

export function restoreCommand(configFile: string, stanza: string): string {
  safePath('config file', configFile);
  check(STANZA_PATTERN.test(stanza), 'stanza', stanza);
  return `${PGBACKREST_BIN} --config=${configFile} --stanza=${stanza} archive-get %f "%p"`;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * recovery_target_time wants PostgreSQL's timestamp syntax: RFC 3339 becomes `YYYY-MM-DD HH:MM:SS[.ffffff]+hh:mm`,
 * keeping every fractional digit (a target a few microseconds after a commit must stay after it).
 */
export function pgTimestamp(rfc3339: string): string {
  const m = RFC3339.exec(rfc3339);
  if (!m || Number.isNaN(Date.parse(rfc3339))) throw new BackupConfigError(`refusing recovery target time ${JSON.stringify(rfc3339)}: not an RFC 3339 time`);
  const zone = m[3]?.toUpperCase() === 'Z' ? '+00' : m[3];
  return `${m[1]} ${m[2]}${zone}`;
}

/** The `pgbackrest restore` arguments for a backup label and a recovery target (all checked again here). */
export function restoreArgs(o: { backup?: string | undefined; target?: RecoveryTarget | undefined }): string[] {
  const args: string[] = [];
  if (o.backup !== undefined) { check(new RegExp(BACKUP_LABEL_PATTERN).test(o.backup), 'backup label', o.backup); args.push(`--set=${o.backup}`); }
  const t = o.target;
  if (!t) return [...args, '--type=default'];
  let type: string;
  let value: string;
  if (t.time !== undefined) { type = 'time'; value = pgTimestamp(t.time); }
  else if (t.lsn !== undefined) { check(new RegExp(LSN_PATTERN).test(t.lsn), 'recovery target lsn', t.lsn); type = 'lsn'; value = t.lsn; }
  else if (t.xid !== undefined) { check(new RegExp(XID_PATTERN).test(t.xid), 'recovery target xid', t.xid); type = 'xid'; value = t.xid; }
  else if (t.name !== undefined) { check(new RegExp(RESTORE_POINT_PATTERN).test(t.name), 'recovery target name', t.name); type = 'name'; value = t.name; }
  else throw new BackupConfigError('recovery target needs one of time, lsn, xid, name');
  return [...args, `--type=${type}`, `--target=${value}`, `--target-action=promote`, ...(t.inclusive === false ? ['--target-exclusive'] : [])];
}
