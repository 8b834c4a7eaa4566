// LIMIT / OFFSET of a scattered SELECT: integer literals, or bind parameters ($n) of the extended protocol. The
// plan is made once per statement text (parse cache), so a parameter stays a reference in the plan and its value
// is read from each Bind when the statement runs. The shard statement keeps the client's parameter list: every $n
// the client binds must still appear in it (PostgreSQL infers the types of unreferenced parameters from nothing and
// refuses a Bind with more values than the statement uses), so a LIMIT parameter that is not pushed down stays in
// the shard's LIMIT as `NULL + $n`, which is NULL, i.e. no limit.
import { isObj, list, tag, type Node } from './parse-tree.js';
import { NotScatterable } from './scatter-aggregates.js';
import { binaryInteger } from './binary-integer.js';

/** A row count as the statement gives it: a literal, a parameter to read at execution, or none (NULL / ALL). */
export type RowCount = number | { param: number } | null;

const INTEGER_TYPES = new Set(['int2', 'int4', 'int8', 'smallint', 'integer', 'bigint', 'int']);

function paramOf(v: unknown): number | null {
  const t = tag(v);
  if (t?.[0] === 'ParamRef' && typeof t[1].number === 'number') return t[1].number;
  if (t?.[0] === 'TypeCast') {
    const names = list(isObj(t[1].typeName) ? t[1].typeName.names : []);
    const type = String(tag(names[names.length - 1])?.[1].sval ?? '');
    if (INTEGER_TYPES.has(type) && !list(isObj(t[1].typeName) ? t[1].typeName.arrayBounds : []).length) return paramOf(t[1].arg);
  }
  return null;
}

export function rowCount(v: unknown, what: string): RowCount {
  const t = tag(v);
  if (!t) return null;
  if (t[0] === 'A_Const') {
    if (t[1].isnull) return null;
    if (isObj(t[1].ival)) return Number(t[1].ival.ival ?? 0);
  }
  const param = paramOf(v);
  if (param !== null) return { param };
  throw new NotScatterable(`${what} must be an integer literal or a parameter ($n) when the statement runs on every shard`);
}

const int8 = (arg: unknown): Node => ({ TypeCast: { arg, typeName: { names: [{ String: { sval: 'pg_catalog' } }, { String: { sval: 'int8' } }], typemod: -1 } } });
const plus = (l: unknown, r: unknown): Node => ({ A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '+' } }], lexpr: l, rexpr: r } });
const int = (n: number): Node => ({ A_Const: { ival: { ival: n } } });
const nullConst: Node = { A_Const: { isnull: true } };

/** The shards' LIMIT for an exact top-N: limit + offset rows each (OFFSET applies after the merge). */
export function topNLimit(limit: RowCount, offset: RowCount, limitNode: unknown, offsetNode: unknown): Node {
  if (typeof limit === 'number' && typeof offset !== 'object') return int(limit + (offset ?? 0));
  if (offset === null) return int8(limitNode);
  const off = typeof offset === 'number' ? int(offset) : { CoalesceExpr: { args: [int8(offsetNode), int(0)] } };
  return plus(int8(limitNode), off);
}

/** A shard LIMIT that is NULL (no limit) yet names the LIMIT/OFFSET parameters, or null when there are none. */
export function parameterAnchor(limit: RowCount, offset: RowCount, limitNode: unknown, offsetNode: unknown): Node | null {
  let expr: Node | null = null;
  for (const [c, node] of [[limit, limitNode], [offset, offsetNode]] as const) {
    if (c !== null && typeof c === 'object') expr = plus(expr ?? int8(nullConst), int8(node));
  }
  return expr;
}

/** Parameter type OIDs declared in a Parse message's type section (int16 count, then int32 OIDs; 0 = unspecified). */
export function declaredTypes(section: Buffer | null): number[] {
  if (!section || section.length < 2) return [];
  const n = section.readUInt16BE(0);
  const out: number[] = [];
  for (let i = 0; i < n && 2 + 4 * i + 4 <= section.length; i++) out.push(section.readUInt32BE(2 + 4 * i));
  return out;
}

const BINARY_INTEGER_OIDS = new Set([0, 20, 21, 23]);

/**
 * A row count's value for one execution, from the Bind's parameter values: text, or binary of a parameter declared
 * int2/int4/int8 or left for PostgreSQL to infer (int8 there). Binary of another declared type (numeric, float)
 * could be misread as an integer, so it is refused.
 */
export function resolveRowCount(c: RowCount, values: readonly (string | Buffer | null)[], what: string, types: readonly number[] = []): bigint | null {
  if (c === null) return null;
  if (typeof c === 'number') return BigInt(c);
  const v = values[c.param - 1];
  if (v === undefined) throw new RangeError(`${what} parameter $${c.param} is not bound`);
  if (v === null) return null;
  if (typeof v !== 'string') {
    const oid = types[c.param - 1] ?? 0;
    if (!BINARY_INTEGER_OIDS.has(oid)) throw new RangeError(`${what} parameter $${c.param} is binary of type oid ${oid}: send it as text or as an integer type`);
    const n = binaryInteger(v);
    if (n === null) throw new RangeError(`${what} parameter $${c.param} is not a binary integer`);
    return n;
  }
  if (!/^\s*[-+]?\d+\s*$/.test(v)) throw new RangeError(`${what} parameter $${c.param} is not an integer: ${JSON.stringify(v.slice(0, 40))}`);
  return BigInt(v.trim());
}
