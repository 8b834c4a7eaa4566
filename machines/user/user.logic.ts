// Desired role vs observed role → the statements that make them equal (CNPG's evaluateNextRoleActions, as data).
import type { PostgresUserSpec } from '../../crds/postgresuser.js';
import type { ObservedRole, RoleAction, RoleAttribute } from './user.types.js';
import { isoMillis } from '../shared/iso-time.js';

type Flag = 'superuser' | 'inherit' | 'createrole' | 'createdb' | 'login' | 'replication' | 'bypassrls';
const FLAGS: [Flag, string][] = [
  ['superuser', 'SUPERUSER'], ['inherit', 'INHERIT'], ['createrole', 'CREATEROLE'], ['createdb', 'CREATEDB'],
  ['login', 'LOGIN'], ['replication', 'REPLICATION'], ['bypassrls', 'BYPASSRLS'],
];

const attribute = (word: string, on: boolean) => (on ? word : `NO${word}`) as RoleAttribute;

/** Same instant, whatever the notation (PostgreSQL prints +00, manifests say Z). */
export function sameInstant(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  const x = isoMillis(a);
  const y = isoMillis(b);
  return Number.isNaN(x) || Number.isNaN(y) ? a === b : x === y;
}

export function desiredMemberships(spec: PostgresUserSpec): string[] {
  return [...new Set(spec.inRoles ?? [])].sort();
}

/**
 * The actions, in order, that bring `observed` to `spec`. `passwordWanted` says whether the role should carry a
 * password (false with disablePassword). Membership grants for roles that do not exist are left out: the caller
 * reports them and retries.
 */
export function planRole(spec: PostgresUserSpec, observed: ObservedRole | null, missingRoles: string[] = []): RoleAction[] {
  const ensure = spec.ensure ?? 'present';
  if (ensure === 'absent') return observed ? [{ kind: 'dropRole' }] : [];
  const want = (f: Flag): boolean => {
    const v = spec[f];
    return typeof v === 'boolean' ? v : f === 'login' || f === 'inherit';
  };
  const limit = spec.connectionLimit ?? -1;
  const validUntil = spec.validUntil ?? null;
  const actions: RoleAction[] = [];
  if (!observed) {
    actions.push({ kind: 'createRole', attributes: FLAGS.map(([f, w]) => attribute(w, want(f))), connectionLimit: limit, validUntil });
  } else {
    const changed = FLAGS.filter(([f]) => observed[f] !== want(f)).map(([f, w]) => attribute(w, want(f)));
    const limitChanged = observed.connectionLimit !== limit;
    const untilChanged = !sameInstant(observed.validUntil, validUntil);
    if (changed.length || limitChanged || untilChanged) {
      actions.push({
        kind: 'alterRole', attributes: changed,
        ...(limitChanged ? { connectionLimit: limit } : {}),
        ...(untilChanged ? { validUntil } : {}),
      });
    }
  }
  if (spec.disablePassword) {
    if (observed && observed.passwordMatches !== null) actions.push({ kind: 'clearPassword' });
  } else if (!observed || observed.passwordMatches !== true) {
    actions.push({ kind: 'setPassword' });
  }
  const desired = desiredMemberships(spec).filter((r) => !missingRoles.includes(r));
  const current = observed?.memberOf ?? [];
  for (const r of desired) if (!current.includes(r)) actions.push({ kind: 'grantMembership', role: r });
  for (const r of [...current].sort()) if (!desiredMemberships(spec).includes(r)) actions.push({ kind: 'revokeMembership', role: r });
  return actions;
}

/** A short, password-free description of a plan for status and logs. */
export const describeActions = (actions: RoleAction[]): string =>
  actions.map((a) => ('role' in a ? `${a.kind}(${a.role})` : a.kind === 'alterRole' ? `alterRole(${a.attributes.join(' ')})` : a.kind)).join(', ');

/** Generated passwords are replaced after intervalDays. */
export function rotationDue(spec: PostgresUserSpec, lastRotation: string | null, now: string): boolean {
  const days = spec.passwordRotation?.intervalDays;
  if (!days || !lastRotation) return false;
  return isoMillis(now) - isoMillis(lastRotation) >= days * 86_400_000;
}
