// Which pgbouncer.ini settings a Pooler may set, as one definition used three times: the CRD's CEL rules (the
// apiserver), local admission (the same CEL through cel-js, plus the per-key messages below) and the renderer
// (adapters/pooler/pgbouncer-config.ts checks again before writing a line). An allowlist, not a denylist: PgBouncer
// grows settings that name files or run as the operator (auth, TLS, listen), and a new one must not slip through.
import type { CelRule } from './schema-kit.js';

/** Settings the operator renders itself (listening, auth, TLS, files, pooling knobs with their own spec fields). */
export const POOLER_OWNED_PARAMETERS = [
  'listen_addr', 'listen_port', 'listen_backlog', 'unix_socket_dir', 'unix_socket_mode', 'unix_socket_group',
  'auth_file', 'auth_type', 'auth_query', 'auth_user', 'auth_hba_file', 'admin_users', 'stats_users',
  'pidfile', 'logfile', 'syslog', 'syslog_ident', 'syslog_facility', 'user', 'so_reuseport',
  'pool_mode', 'default_pool_size', 'max_client_conn',
  'server_tls_sslmode', 'server_tls_ca_file', 'server_tls_cert_file', 'server_tls_key_file', 'server_tls_protocols', 'server_tls_ciphers',
  'client_tls_sslmode', 'client_tls_ca_file', 'client_tls_cert_file', 'client_tls_key_file', 'client_tls_protocols',
  'client_tls_ciphers', 'client_tls_ecdhcurve', 'client_tls_dheparams',
  'resolv_conf', 'service_name', 'job_name', 'conffile',
] as const;

/** Tuning a user may set: timeouts, pool sizes, logging, keepalives (PgBouncer 1.18). */
export const POOLER_ALLOWED_PARAMETERS = [
  'application_name_add_host', 'autodb_idle_timeout', 'client_idle_timeout', 'client_login_timeout',
  'disable_pqexec', 'dns_max_ttl', 'dns_nxdomain_ttl', 'dns_zone_check_period', 'idle_transaction_timeout',
  'ignore_startup_parameters', 'log_connections', 'log_disconnections', 'log_pooler_errors', 'log_stats',
  'max_db_connections', 'max_packet_size', 'max_user_connections', 'min_pool_size', 'pkt_buf', 'query_timeout',
  'query_wait_timeout', 'reserve_pool_size', 'reserve_pool_timeout', 'sbuf_loopcnt', 'server_check_delay',
  'server_check_query', 'server_connect_timeout', 'server_fast_close', 'server_idle_timeout', 'server_lifetime',
  'server_login_retry', 'server_reset_query', 'server_reset_query_always', 'server_round_robin', 'stats_period',
  'suspend_timeout', 'tcp_defer_accept', 'tcp_keepalive', 'tcp_keepcnt', 'tcp_keepidle', 'tcp_keepintvl',
  'tcp_socket_buffer', 'tcp_user_timeout', 'verbose',
] as const;

/** C0 control characters and DEL: a newline would end the line in pgbouncer.ini and start a new setting. */
export const POOLER_CONTROL_PATTERN = '[\\x00-\\x1f\\x7f]';
const CONTROL_RE = new RegExp(POOLER_CONTROL_PATTERN);
const OWNED = new Set<string>(POOLER_OWNED_PARAMETERS);
const ALLOWED = new Set<string>(POOLER_ALLOWED_PARAMETERS);
const FIELD = 'spec.pgbouncer.parameters';

/** Why a Pooler parameter is refused, or null when it may be rendered. */
export function poolerParameterProblem(name: string, value: unknown): string | null {
  const lower = name.toLowerCase();
  if (OWNED.has(lower)) return `${name} is a PgBouncer setting the operator manages (use the Pooler's own fields); remove it from ${FIELD}`;
  if (!ALLOWED.has(name)) return `${JSON.stringify(name)} is not a PgBouncer setting a Pooler may set; allowed: ${POOLER_ALLOWED_PARAMETERS.join(', ')}`;
  if (typeof value !== 'string') return `${name} must be a string`;
  if (CONTROL_RE.test(value)) return `${name} holds a control character (newline, CR, NUL, tab...); remove it from ${FIELD}`;
  return null;
}

export const poolerParameterProblems = (parameters: Record<string, unknown>): string[] =>
  Object.entries(parameters).flatMap(([k, v]) => poolerParameterProblem(k, v) ?? []);

const celString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const list = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** The rules on spec.pgbouncer.parameters (fixed messages: the apiserver prices key-listing messages too high). */
export const POOLER_PARAMETER_RULES: CelRule[] = [
  ...POOLER_OWNED_PARAMETERS.map((p) => ({ rule: `!has(self.${p})`, message: `${p} is a PgBouncer setting the operator manages; remove it` })),
  {
    rule: `self.all(k, !(k.lowerAscii() in ${list(POOLER_OWNED_PARAMETERS)}))`,
    message: 'contains a PgBouncer setting the operator manages (names compare case-insensitively); remove it',
  },
  {
    rule: `self.all(k, k in ${list(POOLER_ALLOWED_PARAMETERS)})`,
    message: `contains a setting a Pooler may not set; allowed: ${POOLER_ALLOWED_PARAMETERS.join(', ')}`,
  },
  {
    rule: `self.all(k, !self[k].matches(${celString(POOLER_CONTROL_PATTERN)}))`,
    message: 'a value holds a control character (newline, CR, NUL, tab...); remove it',
  },
];
