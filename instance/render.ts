// Pure renderers for the files the agent owns inside the data directory. Admission already refused hostile
// parameters and pg_hba lines; the renderer checks them again with the same functions (a spec file can come from
// an older operator or a hand edit) and drops what fails, so nothing a user wrote can end a line early.
import { DISCARD_ARCHIVE_COMMAND } from '../adapters/sql/archiver.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { REPLICATION_USER, SUPERUSER } from '../adapters/instance/spec.js';
import { parameterProblem } from '../crds/pg-parameters.js';
import { parseHbaLine, type HbaRule } from '../crds/pg-hba.js';
import { tlsFiles } from './layout.js';
import { archiveCommand, renderPgbackrestConf, PGBACKREST_CONF } from '../adapters/backup/pgbackrest-config.js';
import { join } from 'node:path';

export const PGOP_CONF = 'pgop.conf';
export const INCLUDE_LINE = `include '${PGOP_CONF}'`;

/** libpq conninfo values are quoted when they hold spaces or quotes. */
const conninfoValue = (v: string) => (/^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
/**
 * postgresql.conf string values are single-quoted; inside, PostgreSQL reads backslash escapes, so `\` is doubled
 * too (a value ending in `\` would otherwise escape the closing quote). Control characters never get here.
 */
const confValue = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** The user's parameters the renderer writes, and the ones it drops with the reason (for the agent's log). */
export function userParameters(spec: Pick<InstanceSpec, 'parameters'>): { kept: Record<string, string>; refused: string[] } {
  const kept: Record<string, string> = {};
  const refused: string[] = [];
  for (const [k, v] of Object.entries(spec.parameters)) {
    const problem = parameterProblem(k, v);
    if (problem) refused.push(problem);
    else kept[k] = v;
  }
  return { kept, refused };
}

const isIp = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');

/**
 * Where and how to reach a peer instance over TLS, verified against the cluster CA. When the certificate is
 * verified by name, libpq dials `hostaddr` and checks `host` against the certificate.
 */
export function peerTarget(spec: InstanceSpec, peer: { host: string; port: number }): [string, string][] {
  const address: [string, string][] = spec.tls.serverName && isIp(peer.host)
    ? [['host', spec.tls.serverName], ['hostaddr', peer.host]]
    : [['host', peer.host]];
  return [...address, ['port', String(peer.port)], ['sslmode', 'verify-full'], ['sslrootcert', tlsFiles(spec).ca]];
}

export const renderConninfo = (pairs: [string, string][]) => pairs.map(([k, v]) => `${k}=${conninfoValue(v)}`).join(' ');

export function primaryConninfo(spec: InstanceSpec, passfile: string): string {
  if (!spec.primary) throw new Error(`${spec.name} has no primary to stream from`);
  return renderConninfo([
    ...peerTarget(spec, spec.primary), ['user', REPLICATION_USER],
    ['passfile', passfile], ['application_name', spec.name], ['connect_timeout', '5'],
  ]);
}

/**
 * Defaults a user may override. A standby whose primary vanished sleeps wal_retrieve_retry_interval (5 s by
 * default) between attempts and notices a promote request only after it: 1 s keeps a failover short.
 */
const DEFAULTS: Record<string, string> = { wal_retrieve_retry_interval: '1s', ssl_min_protocol_version: 'TLSv1.2' };

/** Settings the operator owns, appended after the user's parameters so they always win. */
export function renderPgopConf(spec: InstanceSpec, opts: { standby: boolean; passfile: string; syncNames?: string }): string {
  const owned: Record<string, string> = {
    listen_addresses: spec.host,
    port: String(spec.port),
    unix_socket_directories: spec.runDir,
    cluster_name: spec.cluster.name,
    wal_level: 'replica',
    hot_standby: 'on',
    wal_log_hints: 'on',
    max_wal_senders: '20',
    max_replication_slots: '20',
    wal_keep_size: '128MB',
    password_encryption: 'scram-sha-256',
    logging_collector: 'off',
    log_destination: 'stderr',
    ssl: 'on',
    ssl_cert_file: tlsFiles(spec).cert,
    ssl_key_file: tlsFiles(spec).key,
    ssl_ca_file: tlsFiles(spec).ca,
  };
  // `on`, not `always`: pgBackRest refuses to back up with archive_mode=always. The segments a dead primary had not
  // pushed yet are pushed by the promoted replica from its own pg_wal (instance/pgbackrest.ts), so no gap.
  // Always on, even without a repository (then `true` drops each segment, as postgres does without archiving):
  // archive_mode applies only at a restart, archive_command at a reload, so a repository added to a running
  // cluster starts archiving without one (ADR 0044; Kubernetes has no rolling restarts).
  owned.archive_mode = 'on';
  owned.archive_command = spec.backup ? archiveCommand(pgbackrestConfPath(spec), spec.backup.stanza) : DISCARD_ARCHIVE_COMMAND;
  // A standby ignores it; a standby about to be promoted already carries the list it must enforce.
  owned.synchronous_standby_names = opts.syncNames ?? '';
  // A restart-only setting, so the same on every role: rendered for standbys only, a promotion (or demotion) left
  // pending_restart set, and a rolling update (ADR 0026) would restart the new primary for nothing.
  owned.recovery_target_timeline = 'latest';
  if (opts.standby) {
    owned.primary_conninfo = primaryConninfo(spec, opts.passfile);
    owned.primary_slot_name = spec.replicationSlot;
  }
  const lines = ['# Written by the pgop instance agent; edits are overwritten.'];
  const { kept } = userParameters(spec);
  for (const [k, v] of Object.entries(DEFAULTS)) if (!(k in kept)) lines.push(`${k} = ${confValue(v)}`);
  for (const [k, v] of Object.entries(kept)) lines.push(`${k} = ${confValue(v)}`);
  for (const [k, v] of Object.entries(owned)) lines.push(`${k} = ${confValue(v)}`);
  return `${lines.join('\n')}\n`;
}

const isLoopback = (host: string) => host.startsWith('127.') || host === '::1' || host === 'localhost';

/** The user's pg_hba lines the renderer keeps (parsed again), and the ones it drops with the reason. */
export function userHbaRules(spec: Pick<InstanceSpec, 'pgHba'>): { kept: HbaRule[]; refused: string[] } {
  const kept: HbaRule[] = [];
  const refused: string[] = [];
  spec.pgHba.forEach((line, i) => {
    const r = parseHbaLine(line);
    if (r.ok) kept.push(r.rule);
    else refused.push(`pgHba[${i}]: ${r.problem}`);
  });
  return { kept, refused };
}

/**
 * The rules in order (first match wins): the superuser only over the socket and from the operator's own
 * addresses, replication only for the replication role, then the user's rules, then scram for everyone else.
 * IPv6 gets the same treatment as IPv4. Rule objects, rendered in one place, so a later change of connection
 * type (host → hostssl) is one edit.
 */
export function hbaRules(spec: InstanceSpec): HbaRule[] {
  const loopback = isLoopback(spec.host);
  const clients = loopback ? ['127.0.0.0/8', '::1/128'] : ['0.0.0.0/0', '::/0'];
  // The operator and peer agents (pg_rewind, slots) connect as the superuser. Locally they all use loopback; in
  // Kubernetes they come from pod addresses the platform may name (superuserNetworks), else from the pod network.
  const admins = loopback ? ['127.0.0.0/8', '::1/128'] : (spec.superuserNetworks ?? clients);
  const everywhere = ['0.0.0.0/0', '::/0'];
  const rule = (type: HbaRule['type'], database: string, user: string, address: string, method: HbaRule['method']): HbaRule => ({ type, database, user, address, method });
  return [
    { type: 'local', database: 'all', user: 'all', method: 'scram-sha-256' },
    // TCP only over TLS: these rejects come before the user's rules, so no extra rule can open a plain-text path.
    ...everywhere.map((a) => rule('hostnossl', 'all', 'all', a, 'reject')),
    ...everywhere.map((a) => rule('hostnossl', 'replication', 'all', a, 'reject')),
    ...admins.map((a) => rule('hostssl', 'all', SUPERUSER, a, 'scram-sha-256')),
    ...everywhere.map((a) => rule('host', 'all', SUPERUSER, a, 'reject')),
    ...clients.map((a) => rule('hostssl', 'replication', REPLICATION_USER, a, 'scram-sha-256')),
    ...everywhere.map((a) => rule('host', 'replication', 'all', a, 'reject')),
    ...userHbaRules(spec).kept,
    ...clients.map((a) => rule('hostssl', 'all', 'all', a, 'scram-sha-256')),
  ];
}

export const formatHbaRule = (r: HbaRule): string =>
  [r.type.padEnd(9), r.database.padEnd(13), r.user.padEnd(19), ...(r.address ? [r.address.padEnd(15)] : []), ...(r.mask ? [r.mask] : []), r.method, ...(r.options ?? [])].join(' ').trimEnd();

/**
 * Restrictive: no trust anywhere, replication only for the replication role, scram for everyone, and TCP only
 * over TLS: the hostnossl rejects come before the user's rules, so no extra rule can open a plain-text path.
 */
export function renderHba(spec: InstanceSpec): string {
  return [
    '# Written by the pgop instance agent; edits are overwritten. Extra rules: spec.postgresql.pgHba.',
    ...hbaRules(spec).map(formatHbaRule),
    '',
  ].join('\n');
}

/** A libpq password file line; ':' and '\' are escaped per the libpq docs. */
export function pgpassLine(host: string, port: number | '*', user: string, password: string): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return `${esc(host)}:${port}:*:${esc(user)}:${esc(password)}\n`;
}

export const pgbackrestConfPath = (spec: Pick<InstanceSpec, 'runDir'>) => join(spec.runDir, PGBACKREST_CONF);

/** The agent's own pgBackRest file: this instance as pg1, its cluster's repository and stanza. Null without one. */
export function renderInstancePgbackrest(spec: InstanceSpec, credentials?: { accessKeyId: string; secretAccessKey: string }): string | null {
  if (!spec.backup) return null;
  return renderPgbackrestConf({
    stanza: spec.backup.stanza, repository: spec.backup.repository, credentials, caFile: spec.backup.caFile,
    pg: [{ path: spec.dataDir, port: spec.port, socketPath: spec.runDir }],
    lockPath: join(spec.runDir, 'pgbackrest-lock'),
  });
}
