// User pg_hba.conf lines, parsed instead of substring-checked: one strict grammar for local admission and the
// agent's renderer, and a coarser CEL form of it for the CRD (the apiserver's cost budget forbids a real parser).
import type { CelRule } from './schema-kit.js';

export type HbaType = 'host' | 'hostssl' | 'hostnossl';
export type HbaMethod = 'scram-sha-256' | 'cert' | 'reject';

/** One rule as the operator renders it: the same shape for its own rules and for the user's. */
export interface HbaRule {
  type: HbaType | 'local';
  database: string;
  user: string;
  /** CIDR or keyword (all, samehost, samenet); absent for local. */
  address?: string;
  /** An IPv4 netmask when the address is written without a prefix length. */
  mask?: string;
  method: HbaMethod;
  options?: string[];
}

export type HbaParse = { ok: true; rule: HbaRule } | { ok: false; problem: string };

const TYPES: readonly string[] = ['host', 'hostssl', 'hostnossl'];
const METHODS: readonly string[] = ['scram-sha-256', 'cert', 'reject'];
const ADDRESS_KEYWORDS: readonly string[] = ['all', 'samehost', 'samenet'];
/** Plain names only: no quotes, no @file, no /regex; `+role` means members of role (users only). */
const NAME = /^[A-Za-z_][A-Za-z0-9_$-]*$/;
const OPTIONS: readonly string[] = ['clientcert=verify-ca', 'clientcert=verify-full'];

function namesProblem(field: 'database' | 'user', list: string): string | null {
  for (const item of list.split(',')) {
    const name = field === 'user' && item.startsWith('+') ? item.slice(1) : item;
    if (item === '') return `empty entry in the ${field} list`;
    if (/^include/i.test(item)) return `${field} "${item}": include directives are refused`;
    if (item.startsWith('@')) return `${field} "${item}": @file references are refused; list the names`;
    if (item.startsWith('/')) return `${field} "${item}": regular expressions are refused; list the names`;
    if (field === 'database' && item === 'replication') return 'replication connections are the operator\'s; remove the replication rule';
    if (!NAME.test(name)) return `${field} "${item}" is not a plain name (letters, digits, _, $, -${field === 'user' ? ', a leading + for role members' : ''})`;
  }
  return null;
}

/** 4 or 6 for a literal IPv4/IPv6 address, else 0 (pure, so crds/ stays free of node: imports). */
export function ipFamily(s: string): 0 | 4 | 6 {
  const v4 = (x: string) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(x) && x.split('.').every((o) => Number(o) <= 255 && (o === '0' || !o.startsWith('0')));
  if (v4(s)) return 4;
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(':')) return 0;
  const halves = s.split('::');
  if (halves.length > 2) return 0;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const parts = halves.flatMap(groups);
  const last = parts.at(-1);
  const tailV4 = last !== undefined && last.includes('.');
  if (tailV4 && !v4(last)) return 0;
  const hex = tailV4 ? parts.slice(0, -1) : parts;
  if (!hex.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return 0;
  const count = hex.length + (tailV4 ? 2 : 0);
  return (halves.length === 2 ? count < 8 : count === 8) ? 6 : 0;
}

const isIP = ipFamily;

const isCidr = (s: string): boolean => {
  const [ip, len, ...rest] = s.split('/');
  if (rest.length || ip === undefined || len === undefined || !/^\d{1,3}$/.test(len)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(len) <= (family === 4 ? 32 : 128);
};

/** Parses one spec.postgresql.pgHba line; anything outside the grammar is refused with the reason. */
export function parseHbaLine(line: string): HbaParse {
  const fail = (problem: string): HbaParse => ({ ok: false, problem });
  // Tab separates fields like a space; any other control character could end the line and start another rule.
  if ([...line].some((c) => c !== '\t' && (c < ' ' || c === '\x7f'))) return fail('holds a control character (newline, CR, NUL...); one rule per entry');
  if (/["'#\\]/.test(line)) return fail('quotes, backslashes and comments are refused');
  const tokens = line.trim().split(/[ \t]+/).filter(Boolean);
  const [type, database, user, address] = tokens;
  if (type === undefined || /^include/i.test(type)) return fail('include directives are refused; write one rule: TYPE DATABASE USER ADDRESS METHOD');
  if (!TYPES.includes(type)) return fail(`type "${type}" is refused: use host, hostssl or hostnossl (local socket rules are the operator's)`);
  if (database === undefined || user === undefined || address === undefined) return fail('is incomplete: write TYPE DATABASE USER ADDRESS METHOD');
  const bad = namesProblem('database', database) ?? namesProblem('user', user);
  if (bad) return fail(bad);
  let rest = tokens.slice(4);
  let mask: string | undefined;
  if (ADDRESS_KEYWORDS.includes(address) || isCidr(address)) {
    // prefix length given or a keyword
  } else if (isIP(address) === 4 && rest[0] !== undefined && isIP(rest[0]) === 4) {
    mask = rest[0];
    rest = rest.slice(1);
  } else {
    return fail(`address "${address}" is refused: use a CIDR (10.0.0.0/8, fd00::/8), an IPv4 address and mask, or all/samehost/samenet`);
  }
  const [method, ...options] = rest;
  if (method === undefined) return fail('has no authentication method: use scram-sha-256, cert or reject');
  if (!METHODS.includes(method)) return fail(`method "${method}" is refused: use scram-sha-256, cert or reject`);
  if (type === 'hostnossl' && method !== 'reject') return fail('hostnossl is only allowed with reject: unencrypted connections may not authenticate');
  if (method === 'cert' && type !== 'hostssl') return fail('cert needs hostssl');
  for (const o of options) {
    if (!OPTIONS.includes(o)) return fail(`option "${o}" is refused: only clientcert=verify-ca or clientcert=verify-full`);
    if (type !== 'hostssl') return fail(`option "${o}" needs hostssl`);
    if (method === 'cert' && o !== 'clientcert=verify-full') return fail('cert always verifies the full certificate; drop the clientcert option');
  }
  return { ok: true, rule: { type: type as HbaType, database, user, address, ...(mask ? { mask } : {}), method: method as HbaMethod, ...(options.length ? { options } : {}) } };
}

/** Problems of a whole pgHba list, each with the index of its line. */
export function hbaProblems(lines: readonly string[]): { index: number; problem: string }[] {
  return lines.flatMap((l, index) => {
    const r = parseHbaLine(l);
    return r.ok ? [] : [{ index, problem: r.problem }];
  });
}

// --- CEL, per line, for the CRD and local admission ----------------------------------------------------------------
// The same grammar, coarser: addresses are checked for shape only. The rules are on the item schema, so the
// apiserver and local admission both report the line's index (spec.postgresql.pgHba[2]).
const ws = '[ \\t]+';
const names = '[A-Za-z_][A-Za-z0-9_$-]*';
const users = `[+]?${names}`;
const addr = '(all|samehost|samenet|[0-9.]+/[0-9]{1,2}|[0-9.]+[ \\t]+[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3})';
const HBA_LINE_PATTERN = `^[ \\t]*(host|hostssl|hostnossl)${ws}${names}(,${names})*${ws}${users}(,${users})*${ws}${addr}${ws}(scram-sha-256|cert|reject)(${ws}clientcert=verify-(ca|full))?[ \\t]*$`;
const celString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export const HBA_LINE_RULES: CelRule[] = [
  {
    rule: `self.matches(${celString(HBA_LINE_PATTERN)})`,
    message: 'must be one rule: host|hostssl|hostnossl DATABASE USER ADDRESS scram-sha-256|cert|reject (no trust, password, md5, ident, peer, quotes, @file or include)',
  },
  {
    rule: `!self.matches(${celString('^[ \\t]*hostnossl[ \\t]')}) || self.matches(${celString('[ \\t]reject[ \\t]*$')})`,
    message: 'hostnossl is only allowed with reject: unencrypted connections may not authenticate',
  },
  {
    rule: `!self.matches(${celString('[ \\t](cert|clientcert=verify-(ca|full))[ \\t]*$')}) || self.matches(${celString('^[ \\t]*hostssl[ \\t]')})`,
    message: 'cert and clientcert need hostssl',
  },
  {
    rule: `!self.matches(${celString('^[ \\t]*[a-z]+[ \\t]+([^ \\t]*,)?replication[, \\t]')})`,
    message: 'replication connections are the operator\'s; remove the replication rule',
  },
];
