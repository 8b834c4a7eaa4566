// PostgreSQL LSNs ("16/B374D848") as comparable byte positions.

export function lsnToBigInt(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

export function compareLsn(a: string, b: string): number {
  const d = lsnToBigInt(a) - lsnToBigInt(b);
  return d === 0n ? 0 : d > 0n ? 1 : -1;
}

/** Bytes from `behind` to `ahead`, never negative. */
export function lsnDiff(ahead: string, behind: string): number {
  const d = lsnToBigInt(ahead) - lsnToBigInt(behind);
  return d > 0n ? Number(d) : 0;
}
