// spec.sharding of a PostgresCluster, and the naming every layer shares: shard names are Vitess key ranges
// ("-80", "80-"), each shard is a PostgresCluster of its own named <cluster>-<lo>-<hi> ("min"/"max" for the open
// ends, since a DNS label cannot end in "-"), and each table group gets a ShardRange <cluster>-<group>.
import { Type, type Static } from '@sinclair/typebox';
import { Strict, HINT } from './schema-kit.js';

/** Lower-case unquoted SQL identifiers: what the router's planner matches against parsed statements. */
export const SQL_IDENT_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';
const SQL_IDENT = new RegExp(SQL_IDENT_PATTERN);
/** A DNS label short enough that <cluster>-<group> stays a valid object name. */
export const GROUP_NAME_PATTERN = '^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$';
const GROUP_NAME = new RegExp(GROUP_NAME_PATTERN);

export const SHARD_COUNTS = [2, 4, 8, 16, 32, 64, 128, 256] as const;
/** The longest shard suffix ("-min-01", "-fe-ff", "-ff-max"): a sharded cluster's name leaves room for it. */
export const SHARD_SUFFIX_MAX = 7;
export const SHARDED_NAME_MAX = 50 - SHARD_SUFFIX_MAX;

const Ident = (description: string) => Type.String({ minLength: 1, maxLength: 63, pattern: SQL_IDENT_PATTERN, [HINT]: 'must be a lower-case unquoted SQL identifier (letters, digits, _; not starting with a digit)', description });

export const TableGroupSpec = Strict({
  name: Type.String({ minLength: 1, maxLength: 20, pattern: GROUP_NAME_PATTERN, [HINT]: 'must be a lower-case DNS label of at most 20 characters (a-z, 0-9, -), e.g. orders', description: 'Names the ShardRange <cluster>-<name>' }),
  vindex: Strict({
    type: Type.Literal('hash', { default: 'hash', description: 'hash: the keyspace id is hashint8extended(key::bigint, 0) (integer) or hashtextextended(key, 0) (text) read as unsigned' }),
    column: Ident('Sharding key column, present in every table of the group'),
    columnType: Type.Union([Type.Literal('integer'), Type.Literal('text')], { default: 'integer', description: 'How the key is hashed' }),
  }),
  tables: Type.Array(Ident('A distributed table'), {
    minItems: 1, maxItems: 16,
    [`x-kubernetes-validations`]: [{ rule: 'self.all(t, self.exists_one(u, u == t))', message: 'lists a table twice' }],
  }),
});

export const ShardingSpec = Strict({
  shards: Type.Integer({ minimum: 2, maximum: 256, description: 'Number of shards, a power of two; each is a full HA group of spec.instances instances.', 'x-kubernetes-validations': [
    { rule: `self in [${SHARD_COUNTS.join(', ')}]`, message: 'must be a power of two from 2 to 256 (2, 4, 8, ... 256)' },
    { rule: 'self == oldSelf', message: 'is immutable: changing the number of shards is a split (ShardSplitJob), not an edit' },
  ] }),
  tableGroups: Type.Array(TableGroupSpec, { minItems: 1, maxItems: 8, description: 'Tables sharded together on one column; one ShardRange each.' }),
  referenceTables: Type.Optional(Type.Array(Ident('A table copied to every shard'), { maxItems: 32 })),
}, {
  rules: [
    { rule: 'self.tableGroups.all(g, self.tableGroups.exists_one(h, h.name == g.name))', message: 'table group names must be unique', fieldPath: '.tableGroups' },
    { rule: 'self.tableGroups.all(g, g.tables.all(t, self.tableGroups.exists_one(h, t in h.tables)))', message: 'a table may belong to one table group only', fieldPath: '.tableGroups' },
    { rule: '!has(self.referenceTables) || self.referenceTables.all(t, self.tableGroups.all(g, !(t in g.tables)))', message: 'a reference table cannot also be a distributed table of a table group', fieldPath: '.referenceTables' },
  ],
});

export type ShardingSpec = Static<typeof ShardingSpec>;
export type TableGroupSpec = Static<typeof TableGroupSpec>;

/** The same rules as the CEL above, naming the offending table or group (and run again where the spec is used). */
export function shardingProblems(s: ShardingSpec | undefined): { field: string; message: string }[] {
  if (!s) return [];
  const out: { field: string; message: string }[] = [];
  if (!(SHARD_COUNTS as readonly number[]).includes(s.shards)) out.push({ field: 'spec.sharding.shards', message: `${s.shards} is not a power of two from 2 to 256` });
  const owner = new Map<string, string>();
  const groups = new Set<string>();
  s.tableGroups.forEach((g, i) => {
    if (!GROUP_NAME.test(g.name)) out.push({ field: `spec.sharding.tableGroups[${i}].name`, message: `"${g.name}" must be a lower-case DNS label of at most 20 characters` });
    if (groups.has(g.name)) out.push({ field: `spec.sharding.tableGroups[${i}].name`, message: `table group "${g.name}" is defined twice; names must be unique` });
    groups.add(g.name);
    if (!SQL_IDENT.test(g.vindex.column)) out.push({ field: `spec.sharding.tableGroups[${i}].vindex.column`, message: `"${g.vindex.column}" must be a lower-case unquoted SQL identifier` });
    g.tables.forEach((t, j) => {
      if (!SQL_IDENT.test(t)) out.push({ field: `spec.sharding.tableGroups[${i}].tables[${j}]`, message: `"${t}" must be a lower-case unquoted SQL identifier` });
      const first = owner.get(t);
      if (first !== undefined) out.push({ field: `spec.sharding.tableGroups[${i}].tables[${j}]`, message: `table "${t}" is already in table group "${first}"; a table belongs to one group` });
      else owner.set(t, g.name);
    });
  });
  (s.referenceTables ?? []).forEach((t, i) => {
    if (!SQL_IDENT.test(t)) out.push({ field: `spec.sharding.referenceTables[${i}]`, message: `"${t}" must be a lower-case unquoted SQL identifier` });
    const g = owner.get(t);
    if (g !== undefined) out.push({ field: `spec.sharding.referenceTables[${i}]`, message: `table "${t}" is distributed in table group "${g}"; remove it from one of the two` });
  });
  return out;
}

export interface KeyRange { start: string; end: string }

const hexByte = (n: number) => n.toString(16).padStart(2, '0');

/** n shards over the keyspace, evenly, on whole bytes: 2 → ["", "80"), ["80", ""). */
export function evenKeyRanges(n: number): KeyRange[] {
  if (!(SHARD_COUNTS as readonly number[]).includes(n)) throw new Error(`shards must be a power of two from 2 to 256, got ${n}`);
  const step = 256 / n;
  return Array.from({ length: n }, (_, i) => ({ start: i === 0 ? '' : hexByte(i * step), end: i === n - 1 ? '' : hexByte((i + 1) * step) }));
}

/** Vitess-style: "-80", "40-80", "c0-". */
export const shardName = (r: KeyRange): string => `${r.start}-${r.end}`;

const SHARD_NAME = /^((?:[0-9a-f]{2})*)-((?:[0-9a-f]{2})*)$/;

export function parseShard(name: string): KeyRange | null {
  const m = SHARD_NAME.exec(name);
  return m ? { start: m[1] ?? '', end: m[2] ?? '' } : null;
}

/** The PostgresCluster holding one shard: <cluster>-min-80, <cluster>-80-max (a DNS label cannot end in "-"). */
export function shardClusterName(cluster: string, shard: string): string {
  const r = parseShard(shard);
  if (!r) throw new Error(`shard "${shard}" is not a key range such as "-80" or "80-"`);
  return `${cluster}-${r.start || 'min'}-${r.end || 'max'}`;
}

/** <cluster>-<group>. */
export const shardRangeName = (cluster: string, group: string): string => `${cluster}-${group}`;

/** Every shard of a sharded cluster, in keyspace order. */
export function shardsOf(cluster: string, s: ShardingSpec): { shard: string; cluster: string; range: KeyRange }[] {
  return evenKeyRanges(s.shards).map((range) => ({ shard: shardName(range), cluster: shardClusterName(cluster, shardName(range)), range }));
}
