// ShardRange: the source of truth for which shard owns which key range of a sharded table group (read by the
// router and the shard machines). Ranges are Vitess-style hex keyspace-id bounds: "" is open-ended.
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { ClusterRef, CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

const Hex = (description: string) => Type.String({ maxLength: 32, pattern: '^([0-9a-f]{2})*$', 'x-pgop-hint': 'must be lower-case hex bytes, e.g. "80" or "" for open-ended', description });

export const ShardRangeSpec = Strict({
  cluster: ClusterRef,
  tableGroup: Type.String({ minLength: 1, maxLength: 63, description: 'Tables sharded together on the same key' }),
  vindex: Strict({
    type: Type.Union([Type.Literal('hash'), Type.Literal('range'), Type.Literal('consistent-hash'), Type.Literal('lookup')], { default: 'hash' }),
    column: Type.String({ minLength: 1, maxLength: 63, description: 'Sharding key column' }),
    columnType: Type.Optional(Type.Union([Type.Literal('integer'), Type.Literal('text')], { description: 'How a hash vindex hashes the key (default integer)' })),
  }),
  tables: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z_][a-z0-9_]{0,62}$', 'x-pgop-hint': 'must be a lower-case unquoted SQL identifier' }), {
    maxItems: 16, description: 'The distributed tables of the group, so a router needs nothing but ShardRanges',
  })),
  ranges: Type.Array(Strict({
    start: Hex('inclusive lower bound'),
    end: Hex('exclusive upper bound'),
    shard: Type.String({ minLength: 1, maxLength: 63, description: 'Shard name (a PostgresCluster shard)' }),
  }, { rules: [{ rule: "self.start == '' || self.end == '' || self.start < self.end", message: 'start must sort before end' }] }), {
    minItems: 1, maxItems: 256,
  }),
}, {
  rules: [
    { rule: "self.ranges.exists_one(r, r.start == '') && self.ranges.exists_one(r, r.end == '')", message: 'the ranges must cover the whole keyspace: exactly one starts at "" and one ends at ""', fieldPath: '.ranges' },
    { rule: "self.ranges.all(r, r.end == '' || self.ranges.exists_one(n, n.start == r.end))", message: 'the ranges must be contiguous: every end is the start of exactly one other range', fieldPath: '.ranges' },
  ],
});

export const ShardRangeStatus = Type.Object({ ...CommonStatus, version: Type.Optional(Type.Integer({ description: 'Bumped on every routing change' })) });
export type ShardRange = Resource<Static<typeof ShardRangeSpec>, Static<typeof ShardRangeStatus>>;

export const shardRangeDefinition: ResourceDefinition = {
  kind: 'ShardRange', plural: 'shardranges', singular: 'shardrange', shortNames: ['pgsr'], scope: 'Namespaced', categories: ['pgop', 'all'],
  spec: ShardRangeSpec, status: ShardRangeStatus,
  printerColumns: [
    { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
    { name: 'Table Group', type: 'string', jsonPath: '.spec.tableGroup' },
    { name: 'Vindex', type: 'string', jsonPath: '.spec.vindex.type' },
    { name: 'Version', type: 'integer', jsonPath: '.status.version' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};
