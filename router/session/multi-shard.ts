// Statements that run on every shard: scatter-gather reads (merged by a final query over the gathered rows on one
// backend) and fan-out (DDL, roles, writes to reference tables). Each shard runs in autocommit; a fan-out that fails
// on some shards after applying on others says so, naming both sets (there is no 2PC yet).
import { serialize } from 'pg-protocol';
import type { BackendConnection } from '../pool/backend-connection.js';
import { FrameBuffer, frameLength } from '../protocol/frame-buffer.js';
import * as msg from '../protocol/backend-messages.js';
import { needsMerge, type ScatterSelect } from '../planner/scatter-plan.js';
import { declaredTypes, resolveRowCount } from '../planner/scatter-limits.js';
import { finalQuery, type RowCounts } from './final-query.js';
import { MultiShardError } from './multi-shard-error.js';
import { buildParse, buildBindRaw, parseTail, textParams } from '../protocol/extended-query.js';

/**
 * The client's statement as it arrived: simple Query text, or extended Parse/Bind parts to repeat on each shard,
 * with the Bind's values decoded (for LIMIT/OFFSET parameters).
 */
export interface Extended { types: Buffer; params: Buffer; resultFormats: number[]; values: (string | Buffer | null)[] }

const DESCRIBE_PORTAL = serialize.describe({ type: 'P' });
const EXECUTE = serialize.execute({});
const SYNC = serialize.sync();

function request(text: string, ext: Extended | null, resultFormats: readonly number[]): Buffer {
  if (!ext) return serialize.query(text);
  return Buffer.concat([buildParse('', parseTail(text, ext.types)), buildBindRaw(ext.params, resultFormats), DESCRIBE_PORTAL, EXECUTE, SYNC]);
}

const T = 0x54, D = 0x44, E = 0x45, Z = 0x5a;

/** One shard's reply to one request, frames kept raw. */
export interface Gathered {
  frames: Buffer[];
  fields: { name: string; type: number }[] | null;
  rowDescription: Buffer | null;
  rows: Buffer[];
  error: { code: string; message: string; frame: Buffer } | null;
  status: number;
}

export { MultiShardError };

/** Sends `request` on a linked-for-us backend and gathers everything up to the last ReadyForQuery of `syncs`. */
export function exchange(b: BackendConnection, request: Buffer, syncs: number): Promise<Gathered> {
  return new Promise((resolve, reject) => {
    const frames = new FrameBuffer();
    const g: Gathered = { frames: [], fields: null, rowDescription: null, rows: [], error: null, status: 0x49 };
    let left = syncs;
    b.onClose = (reason) => reject(new MultiShardError(`server connection lost: ${reason}`, '08006'));
    b.onData = (chunk) => {
      const data = frames.take(chunk);
      if (!data) return;
      let off = 0;
      while (data.length - off >= 5) {
        const end = off + 1 + frameLength(data, off);
        if (end > data.length) break;
        const type = data[off]!;
        const frame = Buffer.from(data.subarray(off, end));
        if (type === Z) {
          g.status = data[off + 5]!;
          if (--left === 0) { frames.keep(data, end); resolve(g); return; }
        } else if (type === E) {
          g.error ??= { code: msg.errorField(data, off + 5, end, 'C') ?? 'XX000', message: msg.errorField(data, off + 5, end, 'M') ?? '', frame };
        } else if (type !== 0x31 && type !== 0x32) { // ParseComplete/BindComplete of the router's own unnamed statement
          if (type === T) { g.rowDescription = frame; g.fields = readFields(frame); } else if (type === D) g.rows.push(frame);
          g.frames.push(frame);
        }
        off = end;
      }
      frames.keep(data, off);
    };
    b.socket.write(request);
  });
}

function readFields(frame: Buffer): { name: string; type: number }[] {
  const n = frame.readUInt16BE(5);
  const out: { name: string; type: number }[] = [];
  let off = 7;
  for (let i = 0; i < n; i++) {
    const nul = frame.indexOf(0, off);
    const name = frame.toString('utf8', off, nul);
    off = nul + 1;
    out.push({ name, type: frame.readUInt32BE(off + 6) });
    off += 18;
  }
  return out;
}

/** Runs a scatter read: the shard query everywhere, then the merge; returns the reply frames for the client. */
export async function scatter(backends: BackendConnection[], plan: ScatterSelect, prelude: (b: BackendConnection) => string | null, ext: Extended | null): Promise<Buffer[]> {
  const merge = needsMerge(plan);
  // Rows to merge come in text; rows passed through come as the client asked.
  const shardFormats = merge || !ext ? [] : ext.resultFormats;
  const results = await Promise.all(backends.map((b) => runOne(b, request(plan.shardSql, ext, shardFormats), prelude(b))));
  const failed = results.find((r) => r.error);
  if (failed) return [failed.error!.frame];
  const first = results[0]!;
  if (!first.fields) return [...first.frames];
  const rows = results.flatMap((r) => r.rows);
  // After the shards: a LIMIT/OFFSET value they refused is PostgreSQL's own error (above), not the router's.
  let counts: RowCounts;
  try {
    const values = ext?.values ?? [];
    const types = declaredTypes(ext?.types ?? null);
    counts = { limit: resolveRowCount(plan.limit, values, 'LIMIT', types), offset: resolveRowCount(plan.offset, values, 'OFFSET', types) };
  } catch (e) {
    return [msg.errorResponse({ severity: 'ERROR', code: '22023', message: (e as Error).message })];
  }
  if (!merge) {
    const out = counts.limit !== null ? rows.slice(0, Number(counts.limit)) : rows;
    return [first.rowDescription!, ...out, msg.commandComplete(`SELECT ${out.length}`)];
  }
  const q = finalQuery(plan, counts, first.fields, rows);
  const req = Buffer.concat([serialize.parse({ text: q.sql, types: q.types }), buildBindRaw(textParams(q.values), ext?.resultFormats ?? []), DESCRIBE_PORTAL, EXECUTE, SYNC]);
  const merged = await exchange(backends[0]!, req, 1);
  if (merged.error) {
    return [msg.errorResponse({ severity: 'ERROR', code: merged.error.code, message: `merging the shards' rows failed: ${merged.error.message}` })];
  }
  return merged.frames;
}

async function runOne(b: BackendConnection, req: Buffer, prelude: string | null): Promise<Gathered> {
  if (prelude) {
    const r = await exchange(b, serialize.query(prelude), 1);
    if (r.error) return r;
  }
  return exchange(b, req, 1);
}

/**
 * Runs one statement on every shard (in order, the default shard first). `rewrite` may change the text for the
 * shards after the first (a role's password becomes the first shard's verifier). All succeed: the first shard's
 * reply. Some fail: an error naming the shards that applied it and those that did not.
 */
export async function fanOut(shards: string[], backends: BackendConnection[], sql: string, prelude: (b: BackendConnection) => string | null,
  rewrite: (() => Promise<string>) | null, ext: Extended | null): Promise<Buffer[]> {
  const results: Gathered[] = [];
  let text = sql;
  for (const [i, b] of backends.entries()) {
    const r = await runOne(b, request(text, ext, ext?.resultFormats ?? []), prelude(b));
    results.push(r);
    if (i === 0 && r.error) return [r.error.frame]; // nothing applied anywhere: PostgreSQL's own error
    if (i === 0 && rewrite) text = await rewrite();
  }
  const applied = shards.filter((_, i) => !results[i]!.error);
  const failed = shards.filter((_, i) => results[i]!.error);
  if (!failed.length) return results[0]!.frames;
  const e = results[shards.indexOf(failed[0]!)]!.error!;
  return [msg.errorResponse({
    severity: 'ERROR', code: e.code,
    message: `statement failed on shard${failed.length > 1 ? 's' : ''} ${failed.join(', ')} after it was applied on shard${applied.length > 1 ? 's' : ''} ${applied.join(', ')}: ${e.message}`,
    detail: `The shards now differ: ${applied.join(', ')} applied it, ${failed.join(', ')} did not. Run a statement that brings them in line on the failed shards (pgop local connect --shard).`,
  })];
}

