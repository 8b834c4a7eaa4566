// The user machine's data. Context is persisted as plain JSON and never holds a password: effects read the
// Secret themselves and report only whether the role's verifier matches it.
import type { PostgresUserSpec } from '../../crds/postgresuser.js';

export interface ResourceRef { namespace: string; name: string }

/** What PostgreSQL has for the role (pg_roles / pg_authid / pg_auth_members). */
export interface ObservedRole {
  superuser: boolean;
  inherit: boolean;
  createrole: boolean;
  createdb: boolean;
  login: boolean;
  replication: boolean;
  bypassrls: boolean;
  connectionLimit: number;
  /** ISO timestamp, or null for no expiry. */
  validUntil: string | null;
  memberOf: string[];
  /** null: the role has no password; otherwise whether the stored verifier matches the Secret's password. */
  passwordMatches: boolean | null;
}

/** What the password should be, as the effect found it (never the password itself). */
export interface PasswordState {
  /** none: disablePassword; secret: a user Secret; generated: `<cluster>-user-<resource>` (created when missing). */
  source: 'none' | 'secret' | 'generated';
  secretName: string | null;
  secretVersion: string | null;
  rotatedAt: string | null;
}

export interface Observation {
  /** null: the role does not exist. */
  role: ObservedRole | null;
  /** Roles named in inRoles that do not exist (yet). */
  missingRoles: string[];
  password: PasswordState;
  at: string;
}

export type RoleAttribute = 'SUPERUSER' | 'NOSUPERUSER' | 'INHERIT' | 'NOINHERIT' | 'CREATEROLE' | 'NOCREATEROLE' | 'CREATEDB' | 'NOCREATEDB'
  | 'LOGIN' | 'NOLOGIN' | 'REPLICATION' | 'NOREPLICATION' | 'BYPASSRLS' | 'NOBYPASSRLS';

/** One step of a role plan; values travel as data, the SQL adapter renders and quotes them. */
export type RoleAction =
  | { kind: 'createRole'; attributes: RoleAttribute[]; connectionLimit: number; validUntil: string | null }
  | { kind: 'alterRole'; attributes: RoleAttribute[]; connectionLimit?: number; validUntil?: string | null }
  | { kind: 'setPassword' }
  | { kind: 'clearPassword' }
  | { kind: 'grantMembership'; role: string }
  | { kind: 'revokeMembership'; role: string }
  | { kind: 'dropRole' };

export interface TargetInput { cluster: ResourceRef }
/** Where to act: the cluster's current primary, or why not now. */
export type Target = { ready: true; primary: string } | { ready: false; reason: string };

export interface UserEffectInput {
  resource: ResourceRef;
  cluster: ResourceRef;
  primary: string;
  spec: PostgresUserSpec;
  /** The last rotation, so the effect can tell when a generated password is due (it reads the clock). */
  lastRotation: string | null;
}
export interface ExecuteInput extends UserEffectInput { actions: RoleAction[] }
export interface ExecuteOutput { at: string }

/** What the change watcher in `applied` needs: the Secret version the role was checked against, where, and when. */
export interface WatchInput {
  resource: ResourceRef;
  cluster: ResourceRef;
  /** The primary (or shard primaries) the object was last applied or checked on; null while retrying. */
  appliedOn: string | null;
  secretName: string | null;
  secretVersion: string | null;
  lastCheckedAt: string | null;
  /** Retrying: wake up after this long (a timer the watcher re-arms on restore); null in applied. */
  wakeAfterMs: number | null;
}

export interface UserInput { namespace: string; name: string; spec: PostgresUserSpec; generation: number }

export interface UserContext extends UserInput {
  primary: string | null;
  observed: Observation | null;
  actions: RoleAction[];
  appliedGeneration: number | null;
  /** The generation the current plan was made for (a spec change mid-apply leaves the result stale). */
  plannedGeneration: number | null;
  appliedOn: string | null;
  password: PasswordState | null;
  lastAppliedAt: string | null;
  lastCheckedAt: string | null;
  waitingReason: string | null;
  lastError: string | null;
  /** Consecutive failures, for the retry backoff. */
  attempts: number;
  deleting: boolean;
}

export type UserEvent =
  | { type: 'spec.changed'; spec: PostgresUserSpec; generation: number }
  | { type: 'secret.changed' }
  | { type: 'cluster.changed' }
  /** The runtime's periodic nudge: re-check drift when due, wake waits whose timers a restore lost. */
  | { type: 'resync.due' }
  | { type: 'resource.deleted' };
