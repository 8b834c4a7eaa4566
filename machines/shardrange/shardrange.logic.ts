// Pure checks of a ShardRange: the ranges cover the keyspace exactly once (the CEL rules say the same, this names
// the gap or overlap), every shard is a key-range name; and what counts as a routing change.
import type { ShardRangeSpec } from './shardrange.types.js';

const HEX = /^(?:[0-9a-f]{2})*$/;
const SHARD = /^(?:[0-9a-f]{2})*-(?:[0-9a-f]{2})*$/;

/** "" sorts first as a start and last as an end; hex bounds compare as strings padded with zeros on the right. */
const cmp = (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1);

export function rangeProblems(spec: ShardRangeSpec): string[] {
  const out: string[] = [];
  spec.ranges.forEach((r, i) => {
    if (!HEX.test(r.start) || !HEX.test(r.end)) out.push(`ranges[${i}]: start and end must be lower-case hex bytes`);
    if (!SHARD.test(r.shard)) out.push(`ranges[${i}].shard: "${r.shard}" must be a key-range shard name such as "-80" or "80-"`);
    if (r.start !== '' && r.end !== '' && cmp(r.start, r.end) >= 0) out.push(`ranges[${i}]: start "${r.start}" must sort before end "${r.end}"`);
  });
  if (out.length) return out;
  const sorted = [...spec.ranges].sort((a, b) => (a.start === '' ? -1 : b.start === '' ? 1 : cmp(a.start, b.start)));
  if (sorted[0]?.start !== '') out.push(`ranges: nothing covers the start of the keyspace (no range starts at "")`);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1]!, sorted[i]!];
    if (prev.end === '') { out.push(`ranges: "${cur.start}"-"${cur.end}" overlaps "${prev.start}"-"" which runs to the end of the keyspace`); continue; }
    const c = cmp(prev.end, cur.start);
    if (c < 0) out.push(`ranges: gap from "${prev.end}" up to "${cur.start}" (no shard holds it)`);
    if (c > 0) out.push(`ranges: "${prev.start}"-"${prev.end}" overlaps "${cur.start}"-"${cur.end}"`);
  }
  if (sorted.at(-1)?.end !== '') out.push(`ranges: nothing covers the end of the keyspace (no range ends at "")`);
  const seen = new Set<string>();
  for (const r of spec.ranges) {
    if (seen.has(r.shard)) out.push(`ranges: shard "${r.shard}" holds two ranges; one range per shard`);
    seen.add(r.shard);
  }
  return out;
}

/** What routers act on; anything else in the spec (nothing today) does not bump the version. */
export function routingOf(spec: ShardRangeSpec): string {
  const ranges = [...spec.ranges].sort((a, b) => (a.start === '' ? -1 : b.start === '' ? 1 : cmp(a.start, b.start)));
  return JSON.stringify({ vindex: spec.vindex, tables: spec.tables ?? [], ranges: ranges.map((r) => [r.start, r.end, r.shard]) });
}
