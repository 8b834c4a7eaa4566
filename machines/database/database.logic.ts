// Desired database vs observed → the statements that make them equal, in an order that works: the database,
// then schemas, extensions, grants and default privileges, and removals last (extensions before their schemas).
import type { PostgresDatabaseSpec } from '../../crds/postgresdatabase.js';
import type { DatabaseAction, DefaultTarget, GrantTarget, ObservedDatabase } from './database.types.js';

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();
const minus = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));

/** Every role the spec needs to exist before it can be applied. */
export function rolesNamed(spec: PostgresDatabaseSpec): string[] {
  if (spec.ensure === 'absent') return [];
  return sorted([
    spec.owner,
    ...(spec.schemas ?? []).filter((s) => s.ensure !== 'absent').flatMap((s) => (s.owner ? [s.owner] : [])),
    ...(spec.grants ?? []).map((g) => g.role),
    ...(spec.defaultPrivileges ?? []).flatMap((d) => [d.role, d.forRole ?? spec.owner]),
  ]);
}

/** Grantees whose privileges the resource manages exactly. */
export const managedGrantees = (spec: PostgresDatabaseSpec) => sorted((spec.grants ?? []).map((g) => g.role));
export const managedDefaultGrantees = (spec: PostgresDatabaseSpec) => sorted((spec.defaultPrivileges ?? []).map((d) => d.role));

const grantKey = (role: string, on: string, schema: string | null) => JSON.stringify([role, on, schema]);

export function planDatabase(spec: PostgresDatabaseSpec, observed: ObservedDatabase | null): DatabaseAction[] {
  if (spec.ensure === 'absent') return observed ? [{ kind: 'dropDatabase' }] : [];
  const out: DatabaseAction[] = [];
  const limit = spec.connectionLimit ?? -1;
  const allow = spec.allowConnections ?? true;
  if (!observed) out.push({ kind: 'createDatabase' });
  else {
    const alter: DatabaseAction & { kind: 'alterDatabase' } = { kind: 'alterDatabase' };
    if (observed.owner !== spec.owner) alter.owner = spec.owner;
    if (observed.connectionLimit !== limit) alter.connectionLimit = limit;
    if (observed.allowConnections !== allow) alter.allowConnections = allow;
    if (Object.keys(alter).length > 1) out.push(alter);
  }
  const schemas = observed?.schemas ?? [];
  const extensions = observed?.extensions ?? [];

  for (const s of spec.schemas ?? []) {
    if (s.ensure === 'absent') continue;
    const owner = s.owner ?? spec.owner;
    const have = schemas.find((x) => x.name === s.name);
    if (!have) out.push({ kind: 'createSchema', name: s.name, owner });
    else if (have.owner !== owner) out.push({ kind: 'alterSchemaOwner', name: s.name, owner });
  }
  for (const e of spec.extensions ?? []) {
    if (e.ensure === 'absent') continue;
    const have = extensions.find((x) => x.name === e.name);
    if (!have) { out.push({ kind: 'createExtension', name: e.name, version: e.version ?? null, schema: e.schema ?? null }); continue; }
    if (e.version && have.version !== e.version) out.push({ kind: 'updateExtension', name: e.name, version: e.version });
    if (e.schema && have.schema !== e.schema) out.push({ kind: 'moveExtension', name: e.name, schema: e.schema });
  }

  // Grants: exact for every role named in spec.grants, over every target it holds something on or is given.
  const desired = new Map<string, { role: string; on: GrantTarget; schema: string | null; privileges: string[] }>();
  for (const g of spec.grants ?? []) {
    const k = grantKey(g.role, g.target, g.schema ?? null);
    const prev = desired.get(k);
    desired.set(k, { role: g.role, on: g.target, schema: g.schema ?? null, privileges: sorted([...(prev?.privileges ?? []), ...g.privileges]) });
  }
  const observedGrants = new Map((observed?.grants ?? []).map((g) => [grantKey(g.role, g.on, g.schema), g]));
  const managed = managedGrantees(spec);
  const keys = sorted([...desired.keys(), ...[...observedGrants.keys()].filter((k) => managed.includes((JSON.parse(k) as string[])[0] ?? ''))]);
  for (const k of keys) {
    const want = desired.get(k);
    const have = observedGrants.get(k);
    const [role, on, schema] = JSON.parse(k) as [string, GrantTarget, string | null];
    // A schema that is going away takes its grants with it.
    if (schema && (spec.schemas ?? []).some((s) => s.name === schema && s.ensure === 'absent')) continue;
    const missing = minus(want?.privileges ?? [], have?.all ?? []);
    const extra = minus(have?.any ?? [], want?.privileges ?? []);
    if (missing.length) out.push({ kind: 'grant', role, on, schema, privileges: missing });
    if (extra.length) out.push({ kind: 'revoke', role, on, schema, privileges: extra });
  }

  const dkey = (role: string, forRole: string, schema: string, on: string) => JSON.stringify([role, forRole, schema, on]);
  const wantDefaults = new Map<string, string[]>();
  for (const d of spec.defaultPrivileges ?? []) {
    const k = dkey(d.role, d.forRole ?? spec.owner, d.schema, d.target);
    wantDefaults.set(k, sorted([...(wantDefaults.get(k) ?? []), ...d.privileges]));
  }
  const haveDefaults = new Map((observed?.defaults ?? []).map((d) => [dkey(d.role, d.forRole, d.schema, d.on), d.privileges]));
  const defaultManaged = managedDefaultGrantees(spec);
  for (const k of sorted([...wantDefaults.keys(), ...[...haveDefaults.keys()].filter((x) => defaultManaged.includes((JSON.parse(x) as string[])[0] ?? ''))])) {
    const [role, forRole, schema, on] = JSON.parse(k) as [string, string, string, DefaultTarget];
    if ((spec.schemas ?? []).some((s) => s.name === schema && s.ensure === 'absent')) continue;
    const want = wantDefaults.get(k) ?? [];
    const have = haveDefaults.get(k) ?? [];
    const missing = minus(want, have);
    const extra = minus(have, want);
    if (missing.length) out.push({ kind: 'grantDefault', role, forRole, schema, on, privileges: missing });
    if (extra.length) out.push({ kind: 'revokeDefault', role, forRole, schema, on, privileges: extra });
  }

  for (const e of spec.extensions ?? []) {
    if (e.ensure === 'absent' && extensions.some((x) => x.name === e.name)) out.push({ kind: 'dropExtension', name: e.name });
  }
  for (const s of spec.schemas ?? []) {
    if (s.ensure === 'absent' && schemas.some((x) => x.name === s.name)) out.push({ kind: 'dropSchema', name: s.name });
  }
  return out;
}

export const describeDatabaseActions = (actions: DatabaseAction[]): string => actions.map((a) => {
  switch (a.kind) {
    case 'createSchema': case 'alterSchemaOwner': case 'dropSchema': case 'createExtension': case 'updateExtension': case 'moveExtension': case 'dropExtension':
      return `${a.kind}(${a.name})`;
    case 'grant': case 'revoke': case 'grantDefault': case 'revokeDefault':
      return `${a.kind}(${a.role} ${a.on}${a.schema ? ` ${a.schema}` : ''}: ${a.privileges.join(' ')})`;
    default: return a.kind;
  }
}).join(', ');
