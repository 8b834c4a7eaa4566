// Which postgresql.conf parameters a user may set, as one definition used three times: the CRD's CEL rules (the
// apiserver), local admission (the same CEL through cel-js) and the agent's renderer (the pure predicate below).
// PostgreSQL reads parameter names case-insensitively, so every comparison is on the lower-cased name.
import type { CelRule } from './schema-kit.js';

/**
 * Parameters the operator renders itself, or that run commands, load code or name files: accepting them from a
 * user would break replication or fencing, or run code as the postgres OS user. Any `*_preload_libraries` is
 * refused too (OWNED_SUFFIXES).
 */
export const OPERATOR_OWNED_PARAMETERS = [
  'archive_cleanup_command', 'archive_command', 'archive_library', 'archive_mode', 'cluster_name', 'config_file',
  'data_directory', 'dynamic_library_path', 'external_pid_file', 'hba_file', 'hot_standby', 'ident_file', 'include',
  'include_dir', 'include_if_exists', 'jit_provider', 'listen_addresses', 'local_preload_libraries',
  'log_destination', 'log_directory', 'logging_collector', 'port', 'primary_conninfo', 'primary_slot_name',
  'promote_trigger_file', 'recovery_end_command', 'recovery_target', 'recovery_target_action',
  'recovery_target_inclusive', 'recovery_target_lsn', 'recovery_target_name', 'recovery_target_time',
  'recovery_target_timeline', 'recovery_target_xid', 'restore_command', 'session_preload_libraries',
  'shared_preload_libraries', 'ssl', 'ssl_ca_file', 'ssl_cert_file', 'ssl_key_file', 'ssl_passphrase_command',
  'ssl_passphrase_command_supports_reload', 'synchronous_standby_names', 'unix_socket_directories', 'wal_level',
  'wal_log_hints',
] as const;

/** Name endings that load code, whatever comes before them. */
export const OWNED_SUFFIXES = ['_preload_libraries'] as const;

/** A GUC name: lower-case, optionally one `extension.` prefix (custom settings such as `myext.setting`). */
export const PARAMETER_NAME_PATTERN = '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$';
/** C0 control characters and DEL: a newline would end the line in postgresql.conf and start a new setting. */
export const CONTROL_CHARACTER_PATTERN = '[\\x00-\\x1f\\x7f]';

const NAME_RE = new RegExp(PARAMETER_NAME_PATTERN);
const CONTROL_RE = new RegExp(CONTROL_CHARACTER_PATTERN);
const OWNED = new Set<string>(OPERATOR_OWNED_PARAMETERS);

export const isOwnedParameter = (name: string): boolean => {
  const lower = name.toLowerCase();
  return OWNED.has(lower) || OWNED_SUFFIXES.some((s) => lower.endsWith(s));
};

/** Why a user parameter is refused, or null when it may be rendered. */
export function parameterProblem(name: string, value: unknown): string | null {
  if (isOwnedParameter(name)) return `parameter ${name} is managed by the operator; remove it from spec.postgresql.parameters`;
  if (!NAME_RE.test(name)) return `invalid parameter name ${JSON.stringify(name)}: use lower-case letters, digits and _ (one dot for extension settings, e.g. myext.setting)`;
  if (typeof value !== 'string') return `parameter ${name} must be a string`;
  if (CONTROL_RE.test(value)) return `parameter ${name} holds a control character (newline, CR, NUL, tab...); remove it`;
  return null;
}

// --- CEL, for the CRD and local admission ------------------------------------------------------------------------
// A CEL string literal needs its backslashes doubled again.
const celString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const ownedList = `[${OPERATOR_OWNED_PARAMETERS.map((p) => `'${p}'`).join(', ')}]`;
const ownedCel = (k: string) => `${k}.lowerAscii() in ${ownedList} || ${OWNED_SUFFIXES.map((s) => `${k}.lowerAscii().endsWith('${s}')`).join(' || ')}`;

/**
 * The rules on spec.postgresql.parameters. The apiserver prices a messageExpression that lists keys far over its
 * budget, so the CEL messages are fixed: one has() rule per owned name (cheap, and it names the key for the usual
 * lower-case spelling), then case-insensitive catch-alls. Local admission adds parameterProblem's per-key message.
 */
export const PARAMETER_RULES: CelRule[] = [
  ...OPERATOR_OWNED_PARAMETERS.map((p) => ({ rule: `!has(self.${p})`, message: `parameter ${p} is managed by the operator; remove it from spec.postgresql.parameters` })),
  {
    rule: `self.all(k, !(${ownedCel('k')}))`,
    message: 'contains a parameter managed by the operator (names compare case-insensitively; any *_preload_libraries counts); remove it from spec.postgresql.parameters',
  },
  {
    rule: `self.all(k, k.matches(${celString(PARAMETER_NAME_PATTERN)}))`,
    message: 'parameter names must be lower-case letters, digits and _ (one dot for extension settings, e.g. myext.setting)',
  },
  {
    rule: `self.all(k, !self[k].matches(${celString(CONTROL_CHARACTER_PATTERN)}))`,
    message: 'a parameter value holds a control character (newline, CR, NUL, tab...); remove it',
  },
];

/** Per-key problems, for local admission's messages and the renderer. */
export function parameterProblems(parameters: Record<string, unknown>): string[] {
  return Object.entries(parameters).flatMap(([k, v]) => parameterProblem(k, v) ?? []);
}
