// PostgreSQL's 64-bit hash functions, ported from src/common/hashfn.c (Bob Jenkins' lookup3, as PostgreSQL ships it)
// and src/backend/access/hash/hashfunc.c, so the router computes exactly what `hashint8extended(k, 0)` and
// `hashtextextended(t, 0)` return inside the database. That equality is the point: a logical-replication row filter
// or a CHECK constraint can then name the same shard boundaries in SQL (ADR 0013).
// All arithmetic is on uint32 lanes (`>>> 0`), as in C; the little-endian branches are the ones taken on x86/arm64
// and, byte-for-byte, the only ones that matter: PostgreSQL defines the result by the bytes, not by the CPU.

const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** State of one hash run: a, b, c of lookup3, kept in a small typed array to avoid allocations per call. */
const s = new Uint32Array(3);

function mix(): void {
  let a = s[0]!, b = s[1]!, c = s[2]!;
  a = (a - c) >>> 0; a = (a ^ rot(c, 4)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rot(a, 6)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rot(b, 8)) >>> 0; b = (b + a) >>> 0;
  a = (a - c) >>> 0; a = (a ^ rot(c, 16)) >>> 0; c = (c + b) >>> 0;
  b = (b - a) >>> 0; b = (b ^ rot(a, 19)) >>> 0; a = (a + c) >>> 0;
  c = (c - b) >>> 0; c = (c ^ rot(b, 4)) >>> 0; b = (b + a) >>> 0;
  s[0] = a; s[1] = b; s[2] = c;
}

function final(): void {
  let a = s[0]!, b = s[1]!, c = s[2]!;
  c = (c ^ b) >>> 0; c = (c - rot(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rot(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rot(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rot(b, 24)) >>> 0;
  s[0] = a; s[1] = b; s[2] = c;
}

function seedState(init: number, seed: bigint): void {
  s[0] = init; s[1] = init; s[2] = init;
  if (seed !== 0n) {
    s[0] = (s[0]! + Number((seed >> 32n) & 0xffffffffn)) >>> 0;
    s[1] = (s[1]! + Number(seed & 0xffffffffn)) >>> 0;
    mix();
  }
}

/** `((uint64) b << 32) | c` as an unsigned bigint. */
const result = () => (BigInt(s[1]!) << 32n) | BigInt(s[2]!);

/** hash_bytes_uint32_extended(k, seed): the 64-bit hash of one uint32, unsigned. */
export function hashBytesUint32Extended(k: number, seed = 0n): bigint {
  seedState((0x9e3779b9 + 4 + 3923095) >>> 0, seed);
  s[0] = (s[0]! + (k >>> 0)) >>> 0;
  final();
  return result();
}

const le32 = (k: Uint8Array, i: number) => (k[i]! | (k[i + 1]! << 8) | (k[i + 2]! << 16) | (k[i + 3]! << 24)) >>> 0;

/** hash_bytes_extended(k, keylen, seed): the 64-bit hash of a byte string, unsigned. */
export function hashBytesExtended(k: Uint8Array, seed = 0n): bigint {
  let len = k.length;
  seedState((0x9e3779b9 + len + 3923095) >>> 0, seed);
  let i = 0;
  while (len >= 12) {
    s[0] = (s[0]! + le32(k, i)) >>> 0;
    s[1] = (s[1]! + le32(k, i + 4)) >>> 0;
    s[2] = (s[2]! + le32(k, i + 8)) >>> 0;
    mix();
    i += 12;
    len -= 12;
  }
  // The last 11 bytes; the lowest byte of c stays free (lookup3 reserves it for the length).
  let a = 0, b = 0, c = 0;
  // C's fall-through switch, written as "at least n bytes left" tests.
  if (len >= 11) c += k[i + 10]! << 24;
  if (len >= 10) c += k[i + 9]! << 16;
  if (len >= 9) c += k[i + 8]! << 8;
  if (len >= 8) b += k[i + 7]! << 24;
  if (len >= 7) b += k[i + 6]! << 16;
  if (len >= 6) b += k[i + 5]! << 8;
  if (len >= 5) b += k[i + 4]!;
  if (len >= 4) a += k[i + 3]! << 24;
  if (len >= 3) a += k[i + 2]! << 16;
  if (len >= 2) a += k[i + 1]! << 8;
  if (len >= 1) a += k[i]!;
  s[0] = (s[0]! + (a >>> 0)) >>> 0;
  s[1] = (s[1]! + (b >>> 0)) >>> 0;
  s[2] = (s[2]! + (c >>> 0)) >>> 0;
  final();
  return result();
}

const INT8_MIN = -(1n << 63n);
const INT8_MAX = (1n << 63n) - 1n;

/**
 * hashint8extended(val, seed) as an unsigned 64-bit number. PostgreSQL folds the high half into the low half so that
 * int2/int4/int8 values that are equal hash equally (hashfunc.c: `lohalf ^= (val >= 0) ? hihalf : ~hihalf`).
 */
export function hashInt8Extended(val: bigint, seed = 0n): bigint {
  if (val < INT8_MIN || val > INT8_MAX) throw new RangeError(`${val} is outside bigint (int8) range`);
  const u = BigInt.asUintN(64, val);
  let lo = Number(u & 0xffffffffn) >>> 0;
  const hi = Number(u >> 32n) >>> 0;
  lo = (lo ^ (val >= 0n ? hi : ~hi >>> 0)) >>> 0;
  return hashBytesUint32Extended(lo, seed);
}

const utf8 = new TextEncoder();

/** hashtextextended(t, seed) for a deterministic collation in a UTF-8 database, as an unsigned 64-bit number. */
export function hashTextExtended(text: string, seed = 0n): bigint {
  return hashBytesExtended(utf8.encode(text), seed);
}
