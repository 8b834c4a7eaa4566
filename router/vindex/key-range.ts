// Key ranges over the 64-bit keyspace id, Vitess style: a range is [start, end) on the id's 16-digit hex form,
// written as hex prefixes ("" = open), and a shard named after its range ("-80", "80-c0", "c0-").
// Right-padding a prefix with zeros gives the same order as comparing hex strings, so ranges compile to bigints.

export const KEYSPACE_END = 1n << 64n;

export interface KeyRange { start: string; end: string }
export interface CompiledRange { start: bigint; end: bigint }

export class KeyRangeError extends Error {
  constructor(message: string) { super(message); this.name = 'KeyRangeError'; }
}

const HEX = /^(?:[0-9a-f]{2}){0,8}$/;

/** Normalises and checks one bound: lower-case hex, whole bytes, at most 8 bytes ("" = open). */
export function checkBound(bound: string, field: string): string {
  const b = bound.toLowerCase();
  if (!HEX.test(b)) {
    throw new KeyRangeError(`${field} "${bound}" is not a key-range bound: use whole bytes of hex (e.g. "80", "40", "c0"), at most 16 digits, or "" for open`);
  }
  return b;
}

/** The bound as a position in [0, 2^64]; `open` is what "" means on this side. */
export function boundValue(bound: string, open: bigint): bigint {
  if (bound === '') return open;
  return BigInt(`0x${bound.padEnd(16, '0')}`);
}

export function compileRange(r: KeyRange, field = 'range'): CompiledRange {
  const start = boundValue(checkBound(r.start, `${field}.start`), 0n);
  const end = boundValue(checkBound(r.end, `${field}.end`), KEYSPACE_END);
  if (start >= end) throw new KeyRangeError(`${field} "${r.start}-${r.end}" is empty: start must sort before end`);
  return { start, end };
}

/** "-80" → {start:"", end:"80"}; "80-c0" → {start:"80", end:"c0"}; "-" is the whole keyspace. */
export function parseShardName(name: string): KeyRange {
  const parts = name.split('-');
  if (parts.length !== 2) throw new KeyRangeError(`shard name "${name}" must be START-END in hex, e.g. "-80", "80-c0", "c0-"`);
  return { start: checkBound(parts[0]!, `shard "${name}" start`), end: checkBound(parts[1]!, `shard "${name}" end`) };
}

export const shardName = (r: KeyRange) => `${r.start}-${r.end}`;

/** The 16-digit hex form of a keyspace id (the form ranges are defined on). */
export const keyspaceIdHex = (id: bigint) => id.toString(16).padStart(16, '0');

/** n equal ranges (n a power of two up to 256): 2 → -80, 80-; 4 → -40, 40-80, 80-c0, c0-. */
export function evenRanges(n: number): KeyRange[] {
  if (!Number.isInteger(n) || n < 1 || n > 256 || (n & (n - 1)) !== 0) throw new KeyRangeError(`shard count ${n} must be a power of two from 1 to 256`);
  const step = 256 / n;
  const hex = (i: number) => (i === 0 || i === 256 ? '' : i.toString(16).padStart(2, '0'));
  return Array.from({ length: n }, (_, k) => ({ start: hex(k * step), end: hex((k + 1) * step) }));
}
