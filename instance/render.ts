// Pure renderers for the files the agent owns inside the data directory.
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { REPLICATION_USER } from '../adapters/instance/spec.js';

export const PGOP_CONF = 'pgop.conf';
export const INCLUDE_LINE = `include '${PGOP_CONF}'`;

/** libpq conninfo values are quoted when they hold spaces or quotes. */
const conninfoValue = (v: string) => (/^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
/** postgresql.conf string values are single-quoted with doubled quotes. */
const confValue = (v: string) => `'${v.replace(/'/g, "''")}'`;

export function primaryConninfo(spec: InstanceSpec, passfile: string): string {
  if (!spec.primary) throw new Error(`${spec.name} has no primary to stream from`);
  return [
    ['host', spec.primary.host], ['port', String(spec.primary.port)], ['user', REPLICATION_USER],
    ['passfile', passfile], ['application_name', spec.name], ['sslmode', 'prefer'], ['connect_timeout', '5'],
  ].map(([k, v]) => `${k}=${conninfoValue(v ?? '')}`).join(' ');
}

/**
 * Defaults a user may override. A standby whose primary vanished sleeps wal_retrieve_retry_interval (5 s by
 * default) between attempts and notices a promote request only after it: 1 s keeps a failover short.
 */
const DEFAULTS: Record<string, string> = { wal_retrieve_retry_interval: '1s' };

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
  };
  // A standby ignores it; a standby about to be promoted already carries the list it must enforce.
  owned.synchronous_standby_names = opts.syncNames ?? '';
  if (opts.standby) {
    owned.primary_conninfo = primaryConninfo(spec, opts.passfile);
    owned.primary_slot_name = spec.replicationSlot;
    owned.recovery_target_timeline = 'latest';
  }
  const lines = ['# Written by the pgop instance agent; edits are overwritten.'];
  for (const [k, v] of Object.entries(DEFAULTS)) if (!(k in spec.parameters)) lines.push(`${k} = ${confValue(v)}`);
  for (const [k, v] of Object.entries(spec.parameters)) lines.push(`${k} = ${confValue(v)}`);
  for (const [k, v] of Object.entries(owned)) lines.push(`${k} = ${confValue(v)}`);
  return `${lines.join('\n')}\n`;
}

/** Restrictive: no trust anywhere, replication only for the replication role, scram for everyone. */
export function renderHba(spec: InstanceSpec): string {
  const net = spec.host === '127.0.0.1' || spec.host.startsWith('127.') ? '127.0.0.0/8' : '0.0.0.0/0';
  return [
    '# Written by the pgop instance agent; edits are overwritten. Extra rules: spec.postgresql.pgHba.',
    'local   all           all                         scram-sha-256',
    `host    replication   ${REPLICATION_USER}   ${net}   scram-sha-256`,
    'host    replication   all                 0.0.0.0/0   reject',
    ...spec.pgHba,
    `host    all           all                 ${net}   scram-sha-256`,
    '',
  ].join('\n');
}

/** A libpq password file line; ':' and '\' are escaped per the libpq docs. */
export function pgpassLine(host: string, port: number | '*', user: string, password: string): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  return `${esc(host)}:${port}:*:${esc(user)}:${esc(password)}\n`;
}
