// The hash vindex: a sharding key value → its keyspace id, defined so PostgreSQL computes the same number
// (hashint8extended / hashtextextended with seed 0, read as unsigned big-endian), see ADR 0013.
import { hashInt8Extended, hashTextExtended } from './pg-hash.js';

export type VindexColumnType = 'integer' | 'text';

export class VindexValueError extends Error {
  constructor(message: string) { super(message); this.name = 'VindexValueError'; }
}

const INTEGER = /^[+-]?\d+$/;

/** Keyspace id of an integer key (any of int2/int4/int8: PostgreSQL hashes them alike). */
export function integerKeyspaceId(key: bigint | number | string): bigint {
  let v: bigint;
  if (typeof key === 'bigint') v = key;
  else if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new VindexValueError(`${key} is not a safe integer; pass it as a bigint or a decimal string`);
    v = BigInt(key);
  } else {
    const t = key.trim();
    if (!INTEGER.test(t)) throw new VindexValueError(`"${key}" is not an integer sharding key`);
    v = BigInt(t);
  }
  try { return hashInt8Extended(v); } catch (e) { throw new VindexValueError((e as Error).message); }
}

export const textKeyspaceId = (key: string): bigint => hashTextExtended(key);

export function keyspaceId(type: VindexColumnType, key: bigint | number | string): bigint {
  return type === 'integer' ? integerKeyspaceId(key) : textKeyspaceId(String(key));
}
