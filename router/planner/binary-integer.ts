// A bound parameter sent in binary format as int2/int4/int8 (its length says which), as PostgreSQL would read it.
export function binaryInteger(b: Buffer): bigint | null {
  if (b.length === 2) return BigInt(b.readInt16BE(0));
  if (b.length === 4) return BigInt(b.readInt32BE(0));
  if (b.length === 8) return b.readBigInt64BE(0);
  return null;
}
