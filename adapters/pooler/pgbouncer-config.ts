// pgbouncer.ini, rendered from a Pooler's spec and where its server connections should go. Pure. User parameters
// are checked again here with the admission's own predicate: a spec can reach the renderer without admission (a
// stored object from an older operator, a hand-edited store), and one newline would add an arbitrary setting.
import type { PoolerSpec } from '../../crds/pooler.js';
import { poolerParameterProblem, POOLER_CONTROL_PATTERN } from '../../crds/pgbouncer-parameters.js';

export const AUTH_USER = 'pgop_pooler';
/** SECURITY DEFINER lookup installed by the operator (auth-sql.ts): only non-superuser login roles. */
export const AUTH_QUERY = 'SELECT usename, passwd FROM pgop_pooler.get_auth($1)';

export interface PgBouncerLayout {
  listenAddr: string;
  listenPort: number;
  /** Per process: the admin console's unix socket and the pid file. */
  socketDir: string;
  pidFile: string;
  /** Holds only the auth user's own line (mode 0600). */
  authFile: string;
  /** Several processes share the port (SO_REUSEPORT) when the Pooler has more than one instance on a host. */
  reusePort: boolean;
}

export interface ServerTarget {
  host: string;
  port: number;
  /** Databases to list explicitly, so a RELOAD with a new host moves their pools (the `*` entry covers the rest). */
  databases: string[];
  /** The cluster's CA: server connections then require TLS and check the server's name against it. */
  caFile?: string;
  /**
   * The cluster's server certificate and key: clients must then use TLS too, and verify PgBouncer against the same
   * CA (its 127.0.0.1/localhost names are in that certificate), as they would the cluster's own endpoints.
   */
  clientTls?: { certFile: string; keyFile: string };
}

const CONTROL = new RegExp(POOLER_CONTROL_PATTERN);
const SAFE_TOKEN = /^[A-Za-z0-9_.:/+-]+$/;

function token(what: string, v: string): string {
  if (!SAFE_TOKEN.test(v)) throw new Error(`refusing to render ${what} ${JSON.stringify(v)} into pgbouncer.ini`);
  return v;
}

/** Plain names only; any other database is still reached through the `*` entry. */
const PLAIN_DB = /^[A-Za-z0-9_]{1,63}$/;

function dbEntry(name: string, server: ServerTarget): string | null {
  return PLAIN_DB.test(name) && name !== 'pgbouncer' ? `${name} = ${connectString(server, name)}` : null;
}

function connectString(server: ServerTarget, dbname?: string): string {
  const parts = [`host=${token('host', server.host)}`, `port=${server.port}`];
  if (dbname !== undefined) parts.push(`dbname=${token('database', dbname)}`);
  return parts.join(' ');
}

export function renderPgBouncerIni(spec: PoolerSpec, layout: PgBouncerLayout, server: ServerTarget | null): string {
  const b = spec.pgbouncer;
  const user: string[] = [];
  for (const [k, v] of Object.entries(b.parameters ?? {}).sort(([a], [c]) => a.localeCompare(c))) {
    const problem = poolerParameterProblem(k, v);
    if (problem) throw new Error(`spec.pgbouncer.parameters: ${problem}`);
    user.push(`${k} = ${v}`);
  }
  // Without a route, an unreachable target keeps clients waiting (and failing after query_wait_timeout) rather
  // than reaching a stale primary.
  const target = server ?? { host: '127.0.0.1', port: 1, databases: [] };
  const tls = server?.caFile
    ? ['server_tls_sslmode = verify-full', `server_tls_ca_file = ${token('CA file', server.caFile)}`]
    : ['server_tls_sslmode = disable'];
  const clientTls = server?.clientTls
    ? ['client_tls_sslmode = require', `client_tls_cert_file = ${token('certificate file', server.clientTls.certFile)}`, `client_tls_key_file = ${token('key file', server.clientTls.keyFile)}`]
    : [];
  return [
    '; Written by the pgop operator; edits are overwritten. Tuning: spec.pgbouncer.parameters.',
    '[databases]',
    ...target.databases.flatMap((d) => dbEntry(d, target) ?? []),
    `* = ${connectString(target)}`,
    '',
    '[pgbouncer]',
    `listen_addr = ${token('listen address', layout.listenAddr)}`,
    `listen_port = ${layout.listenPort}`,
    `unix_socket_dir = ${token('socket directory', layout.socketDir)}`,
    'unix_socket_mode = 0700',
    `pidfile = ${token('pid file', layout.pidFile)}`,
    `so_reuseport = ${layout.reusePort ? 1 : 0}`,
    'auth_type = scram-sha-256',
    `auth_file = ${token('auth file', layout.authFile)}`,
    `auth_user = ${AUTH_USER}`,
    `auth_query = ${AUTH_QUERY}`,
    `admin_users = ${AUTH_USER}`,
    `stats_users = ${AUTH_USER}`,
    `pool_mode = ${b.poolMode}`,
    `default_pool_size = ${b.defaultPoolSize}`,
    `max_client_conn = ${b.maxClientConnections}`,
    ...tls,
    ...clientTls,
    // A login failure (the old primary going down during a failover) otherwise blocks the pool for 15 s.
    ...(b.parameters?.server_login_retry === undefined ? ['server_login_retry = 1'] : []),
    ...user,
    '',
  ].join('\n');
}

/** The auth file: the auth user's own line only (PgBouncer needs its password to run auth_query). */
export function renderAuthFile(password: string): string {
  if (CONTROL.test(password) || password.includes('"')) throw new Error('the pooler auth password holds a character the auth file cannot carry');
  return `"${AUTH_USER}" "${password}"\n`;
}
