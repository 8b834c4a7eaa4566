// Statements that run on every shard: scatter-gather reads (merged by a final query over the gathered rows on one
// backend) and fan-out (DDL, roles, writes to reference tables). Each shard runs in autocommit; a fan-out that fails
// on some shards after applying on others says so, naming both sets (there is no 2PC yet).
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { BackendConnection } from '../pool/backend-connection.js';
import { FrameBuffer, frameLength } from '../protocol/frame-buffer.js';
import * as msg from '../protocol/backend-messages.js';
import { needsMerge, type ScatterSelect } from '../planner/scatter-plan.js';
import { buildParse, buildBindRaw, parseTail, textParams } from '../protocol/extended-query.js';

/** The client's statement as it arrived: simple Query text, or extended Parse/Bind parts to repeat on each shard. */
export interface Extended { types: Buffer; params: Buffer; resultFormats: number[] }

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

export class MultiShardError extends Error {
  constructor(message: string, readonly sqlstate = '0A000') { super(message); this.name = 'MultiShardError'; }
}

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

/** A DataRow's values as text (the shard queries run in text format). */
function rowValues(frame: Buffer): (string | null)[] {
  const n = frame.readUInt16BE(5);
  const out: (string | null)[] = [];
  let off = 7;
  for (let i = 0; i < n; i++) {
    const len = frame.readInt32BE(off);
    off += 4;
    if (len < 0) { out.push(null); continue; }
    out.push(frame.toString('utf8', off, off + len));
    off += len;
  }
  return out;
}

/** Element type → array type for the built-in types a merge can carry. */
const ARRAY_OF: Record<number, number> = {
  16: 1000, 17: 1001, 18: 1002, 19: 1003, 20: 1016, 21: 1005, 23: 1007, 25: 1009, 26: 1028, 114: 199, 700: 1021, 701: 1022,
  790: 791, 1042: 1014, 1043: 1015, 1082: 1182, 1083: 1183, 1114: 1115, 1184: 1185, 1186: 1187, 1266: 1270, 1700: 1231,
  2950: 2951, 3802: 3807, 869: 1041, 650: 651, 829: 1040,
};

function arrayLiteral(values: (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`)).join(',')}}`;
}

/** The final query over the gathered partial rows, run as an unnamed extended-protocol statement on one backend. */
export function finalQuery(p: ScatterSelect, fields: { name: string; type: number }[], rows: Buffer[]): { sql: string; types: number[]; values: string[] } {
  const width = fields.length;
  const shift = width - p.partialLength;
  const col = (c: number) => `c${c >= p.partialLength - p.hidden ? c + shift : c}`;
  const types = fields.map((f, i) => {
    const a = ARRAY_OF[f.type];
    if (!a) throw new MultiShardError(`column ${i + 1} ("${f.name}") has type oid ${f.type}, which the router cannot merge across shards yet (built-in scalar types only)`);
    return a;
  });
  const values = rows.map(rowValues);
  const columns = fields.map((_, i) => arrayLiteral(values.map((r) => r[i] ?? null)));
  const visible = width - p.hidden;
  let select: string[];
  if (!p.columns) {
    select = fields.slice(0, visible).map((f, i) => `c${i} as ${pg.escapeIdentifier(f.name)}`);
  } else {
    select = p.columns.map((c, i) => {
      const cast = c.kind !== 'plain' && c.cast ? `::${c.cast}` : '';
      let expr: string;
      switch (c.kind) {
        case 'plain': expr = col(c.col); break;
        case 'count': expr = `sum(${col(c.col)})::int8`; break;
        case 'sum': expr = fields[c.col]!.type === 20 ? `sum(${col(c.col)})::int8` : `sum(${col(c.col)})`; break;
        case 'min': case 'max': expr = `${c.kind}(${col(c.col)})`; break;
        case 'avg': {
          const t = fields[c.sumCol]!.type;
          if (t === 20 || t === 1700) expr = `sum(${col(c.sumCol)})::numeric / sum(${col(c.countCol)})::numeric`;
          else if (t === 700 || t === 701) expr = `sum(${col(c.sumCol)})::float8 / sum(${col(c.countCol)})::float8`;
          else throw new MultiShardError(`avg over type oid ${t} cannot be combined across shards (integer, numeric and float can)`);
          break;
        }
      }
      return `(${expr})${cast} as ${pg.escapeIdentifier(p.names[i] ?? '?column?')}`;
    });
  }
  let sql = `select ${p.distinct ? 'distinct ' : ''}${select.join(', ')} from unnest(${fields.map((_, i) => `$${i + 1}`).join(', ')}) as p(${fields.map((_, i) => `c${i}`).join(', ')})`;
  if (p.groupBy.length) sql += ` group by ${p.groupBy.map(col).join(', ')}`;
  if (p.orderBy.length) {
    sql += ` order by ${p.orderBy.map((o) => `${'output' in o.ref ? String(o.ref.output) : col(o.ref.col)}${o.desc ? ' desc' : ''}${o.nulls ? ` nulls ${o.nulls}` : ''}`).join(', ')}`;
  }
  if (p.limit !== null) sql += ` limit ${p.limit}`;
  if (p.offset !== null) sql += ` offset ${p.offset}`;
  return { sql, types, values: columns };
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
  if (!merge) {
    const out = plan.limit !== null ? rows.slice(0, plan.limit) : rows;
    return [first.rowDescription!, ...out, msg.commandComplete(`SELECT ${out.length}`)];
  }
  const q = finalQuery(plan, first.fields, rows);
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

