// The routing table: key ranges → shards for one keyspace, generation-numbered so a router can tell which placement
// a decision was made with (a split bumps the generation). Pure: built from data, validated, looked up.
import { compileRange, shardName, KEYSPACE_END, KeyRangeError, type KeyRange } from '../vindex/key-range.js';

export interface ShardPlacement extends KeyRange { shard: string }
export interface RoutingTableInput { generation: number; ranges: readonly ShardPlacement[] }

export interface RoutingTable {
  readonly generation: number;
  /** Sorted by start; starts[i] and the shard owning [starts[i], starts[i+1]). */
  readonly starts: readonly bigint[];
  readonly shards: readonly string[];
  readonly placements: readonly ShardPlacement[];
}

export class RoutingTableError extends KeyRangeError {
  constructor(message: string) { super(message); this.name = 'RoutingTableError'; }
}

const label = (p: ShardPlacement) => `shard "${p.shard}" (${shardName(p)})`;

/** Validates that the ranges cover the whole keyspace exactly once and compiles them for lookup. */
export function buildRoutingTable(input: RoutingTableInput): RoutingTable {
  if (!Number.isSafeInteger(input.generation) || input.generation < 0) {
    throw new RoutingTableError(`generation ${input.generation} must be a non-negative integer`);
  }
  if (input.ranges.length === 0) throw new RoutingTableError('ranges is empty: list at least one shard (use "-" for the whole keyspace)');
  const names = new Set<string>();
  const compiled = input.ranges.map((p, i) => {
    if (!p.shard) throw new RoutingTableError(`ranges[${i}].shard is empty: name the shard that holds ${shardName(p)}`);
    if (names.has(p.shard)) throw new RoutingTableError(`ranges[${i}].shard "${p.shard}" appears twice: one range per shard`);
    names.add(p.shard);
    return { p: { ...p, start: p.start.toLowerCase(), end: p.end.toLowerCase() }, r: compileRange(p, `ranges[${i}]`) };
  }).sort((x, y) => (x.r.start < y.r.start ? -1 : x.r.start > y.r.start ? 1 : 0));
  let expected = 0n;
  let previous: ShardPlacement | undefined;
  for (const { p, r } of compiled) {
    if (r.start > expected) {
      throw new RoutingTableError(`gap: no shard holds keyspace ids from "${previous?.end ?? ''}" up to "${p.start}" (before ${label(p)}); extend a neighbour or add a shard`);
    }
    if (r.start < expected) throw new RoutingTableError(`overlap: ${label(p)} overlaps ${label(previous!)}; ranges must not share keyspace ids`);
    expected = r.end;
    previous = p;
  }
  if (expected !== KEYSPACE_END) throw new RoutingTableError(`gap: no shard holds keyspace ids from "${previous!.end}" to the end of the keyspace; the last range must end with ""`);
  return {
    generation: input.generation,
    starts: compiled.map((c) => c.r.start),
    shards: compiled.map((c) => c.p.shard),
    placements: compiled.map((c) => c.p),
  };
}

/** The shard whose range holds `id` (binary search on the sorted starts). */
export function shardForKeyspaceId(table: RoutingTable, id: bigint): string {
  if (id < 0n || id >= KEYSPACE_END) throw new RangeError(`keyspace id ${id} is outside [0, 2^64)`);
  let lo = 0;
  let hi = table.starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (table.starts[mid]! <= id) lo = mid; else hi = mid - 1;
  }
  return table.shards[lo]!;
}
