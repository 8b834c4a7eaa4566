// Pure helpers of the client session that look at frames without session state: the SHOW check an unsharded
// router does on every first query, and the shape of an extended-protocol batch the router runs on every shard.
const E = 0x45, S = 0x53, P = 0x50, B = 0x42, D = 0x44;

/** Whether a query text starts with SHOW (any case, after blanks): the only text an unsharded router looks at. */
export function startsWithShow(data: Buffer, off: number, end: number): boolean {
  while (off < end && (data[off] === 0x20 || data[off] === 0x0a || data[off] === 0x09 || data[off] === 0x0d)) off++;
  return end - off >= 4 && (data[off]! | 0x20) === 0x73 && (data[off + 1]! | 0x20) === 0x68 && (data[off + 2]! | 0x20) === 0x6f && (data[off + 3]! | 0x20) === 0x77;
}

/** ParseComplete: also what the session answers for statements it prepares locally. */
export const PARSE_COMPLETE_MSG = Buffer.from([0x31, 0, 0, 0, 4]);
const BIND_COMPLETE_MSG = Buffer.from([0x32, 0, 0, 0, 4]);
const NO_DATA_MSG = Buffer.from([0x6e, 0, 0, 0, 4]);

/**
 * The message types of a batch the router can run on every shard: Parse (optional), Bind, Describe portal
 * (optional), Execute, Sync, in that order, one statement. Null for anything else.
 */
export function extendedShape(frames: Buffer): number[] | null {
  const types: number[] = [];
  for (let off = 0; off < frames.length; off += 1 + frames.readUInt32BE(off + 1)) {
    const t = frames[off]!;
    if (t === D && frames[off + 5] !== 0x50 /* P */) return null;
    types.push(t);
  }
  const shape = types.join(',');
  const ok = [[B, E, S], [P, B, E, S], [B, D, E, S], [P, B, D, E, S]].some((x) => x.join(',') === shape);
  return ok ? types : null;
}

/** The reply to such a batch, message by message, from the shards' (or the merge's) frames. */
export function extendedReply(frames: Buffer[], shape: number[]): Buffer[] {
  if (frames.some((f) => f[0] === E)) return frames.filter((f) => f[0] === E || f[0] === 0x4e);
  const out: Buffer[] = [];
  for (const t of shape) {
    if (t === P) out.push(PARSE_COMPLETE_MSG);
    else if (t === B) out.push(BIND_COMPLETE_MSG);
    else if (t === D) out.push(frames.find((f) => f[0] === 0x54) ?? NO_DATA_MSG);
    else if (t === E) out.push(...frames.filter((f) => f[0] !== 0x54 && f[0] !== 0x6e));
  }
  return out;
}
