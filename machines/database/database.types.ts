// The database machine's data: desired spec, what PostgreSQL has (observation), and the plan between them.
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';
import type { ResourceRef, Target, TargetInput, WatchInput } from '../user/user.types.js';

export type { ResourceRef, Target, TargetInput, WatchInput };
export type GrantTarget = 'database' | 'schema' | 'tables' | 'sequences' | 'functions';
export type DefaultTarget = 'tables' | 'sequences' | 'functions';

/** Privileges a role holds on a target; for "all X in schema", `all` is what it holds on every object and `any` on some. */
export interface ObservedGrant { role: string; on: GrantTarget; schema: string | null; all: string[]; any: string[] }
export interface ObservedDefault { role: string; forRole: string; schema: string; on: DefaultTarget; privileges: string[] }

export interface ObservedDatabase {
  owner: string;
  encoding: string;
  connectionLimit: number;
  allowConnections: boolean;
  extensions: { name: string; version: string; schema: string }[];
  schemas: { name: string; owner: string }[];
  /** Only for the roles the spec names in grants / defaultPrivileges. */
  grants: ObservedGrant[];
  defaults: ObservedDefault[];
}

export interface DatabaseObservation {
  /** null: the database does not exist. */
  database: ObservedDatabase | null;
  /** Roles the spec names (owner, schema owners, grantees) that do not exist (yet). */
  missingRoles: string[];
  at: string;
}

export type DatabaseAction =
  | { kind: 'createDatabase' }
  | { kind: 'alterDatabase'; owner?: string; connectionLimit?: number; allowConnections?: boolean }
  | { kind: 'dropDatabase' }
  | { kind: 'createSchema'; name: string; owner: string }
  | { kind: 'alterSchemaOwner'; name: string; owner: string }
  | { kind: 'dropSchema'; name: string }
  | { kind: 'createExtension'; name: string; version: string | null; schema: string | null }
  | { kind: 'updateExtension'; name: string; version: string }
  | { kind: 'moveExtension'; name: string; schema: string }
  | { kind: 'dropExtension'; name: string }
  | { kind: 'grant' | 'revoke'; role: string; on: GrantTarget; schema: string | null; privileges: string[] }
  | { kind: 'grantDefault' | 'revokeDefault'; role: string; forRole: string; schema: string; on: DefaultTarget; privileges: string[] };

export interface DatabaseEffectInput {
  resource: ResourceRef;
  cluster: ResourceRef;
  primary: string;
  spec: PostgresDatabaseSpec;
}
export interface DatabaseExecuteInput extends DatabaseEffectInput { actions: DatabaseAction[] }
export interface DatabaseExecuteOutput { at: string }

export interface DatabaseInput { namespace: string; name: string; spec: PostgresDatabaseSpec; generation: number }

export interface DatabaseContext extends DatabaseInput {
  primary: string | null;
  observed: DatabaseObservation | null;
  actions: DatabaseAction[];
  appliedGeneration: number | null;
  plannedGeneration: number | null;
  appliedOn: string | null;
  lastAppliedAt: string | null;
  lastCheckedAt: string | null;
  /** How many drift corrections were made (someone changed the database by hand). */
  driftCorrections: number;
  waitingReason: string | null;
  lastError: string | null;
  attempts: number;
  deleting: boolean;
}

export type DatabaseEvent =
  | { type: 'spec.changed'; spec: PostgresDatabaseSpec; generation: number }
  | { type: 'secret.changed' }
  | { type: 'cluster.changed' }
  | { type: 'resync.due' }
  | { type: 'resource.deleted' };
