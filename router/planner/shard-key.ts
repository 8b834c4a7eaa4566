// From a parsed statement to where its sharding key comes from: a literal, a bind parameter, or nowhere. Only the
// shapes a single-shard fast path can prove are recognised: one sharded table, and `key = value` as a top-level
// AND conjunct of WHERE (SELECT / UPDATE / DELETE) or the key column of a one-row INSERT ... VALUES. Anything else
// says why it is not single-shard, which is what `SHOW pgop.route` prints.
import type { ShardingScheme, ShardedTable } from './sharding-scheme.js';

export type KeySource = { literal: string } | { param: number };

export type RoutePlan =
  | { kind: 'keyed'; table: string; key: ShardedTable; source: KeySource }
  | { kind: 'unsharded'; reason: string; tx?: 'begin' | 'commit' | 'rollback' }
  | { kind: 'scatter'; reason: string };

type Node = Record<string, unknown>;
const isObj = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** The single key of a parse-tree node ({"SelectStmt": {...}}) and its body. */
function tag(v: unknown): [string, Node] | null {
  if (!isObj(v)) return null;
  const k = Object.keys(v)[0];
  return k && isObj(v[k]) ? [k, v[k]] : null;
}

function constValue(v: unknown): string | null {
  const t = tag(v);
  if (!t) return null;
  const [kind, n] = t;
  if (kind === 'TypeCast') return constValue(n.arg);
  if (kind !== 'A_Const' || n.isnull) return null;
  if (isObj(n.ival)) return String(n.ival.ival ?? 0);
  if (isObj(n.sval)) return String(n.sval.sval ?? '');
  if (isObj(n.fval)) return String(n.fval.fval ?? '');
  return null;
}

function source(v: unknown): KeySource | null {
  const t = tag(v);
  if (t?.[0] === 'ParamRef' && typeof t[1].number === 'number') return { param: t[1].number };
  if (t?.[0] === 'TypeCast') { const inner = tag(t[1].arg); if (inner?.[0] === 'ParamRef') return source(t[1].arg); }
  const c = constValue(v);
  return c === null ? null : { literal: c };
}

function columnName(v: unknown): string | null {
  const t = tag(v);
  if (t?.[0] !== 'ColumnRef') return null;
  const fields = list(t[1].fields);
  const last = tag(fields[fields.length - 1]);
  return last?.[0] === 'String' ? String(last[1].sval) : null;
}

/** Finds `column = value` among the top-level AND conjuncts of a WHERE clause. */
function keyInWhere(where: unknown, column: string): KeySource | null {
  const t = tag(where);
  if (!t) return null;
  if (t[0] === 'BoolExpr' && t[1].boolop === 'AND_EXPR') {
    for (const a of list(t[1].args)) { const s = keyInWhere(a, column); if (s) return s; }
    return null;
  }
  if (t[0] !== 'A_Expr' || t[1].kind !== 'AEXPR_OP') return null;
  const op = tag(list(t[1].name)[0]);
  if (op?.[0] !== 'String' || op[1].sval !== '=') return null;
  if (columnName(t[1].lexpr) === column) return source(t[1].rexpr);
  if (columnName(t[1].rexpr) === column) return source(t[1].lexpr);
  return null;
}

function relation(v: unknown): string | null {
  const t = tag(v) ?? (isObj(v) ? ['RangeVar', v] as [string, Node] : null);
  if (t?.[0] !== 'RangeVar') return null;
  const schema = t[1].schemaname;
  if (schema !== undefined && schema !== 'public') return null;
  return String(t[1].relname);
}

/** Whether any RangeVar below `v` names a sharded table (joins, subqueries, CTEs). */
function mentionsSharded(v: unknown, scheme: ShardingScheme): boolean {
  if (Array.isArray(v)) return v.some((x) => mentionsSharded(x, scheme));
  if (!isObj(v)) return false;
  if (isObj(v.RangeVar) && scheme.tables.has(String(v.RangeVar.relname))) return true;
  return Object.values(v).some((x) => mentionsSharded(x, scheme));
}

export function planStatement(parsed: { stmts?: unknown[] }, scheme: ShardingScheme): RoutePlan {
  const stmts = list(parsed.stmts);
  if (stmts.length !== 1) return { kind: 'scatter', reason: `${stmts.length} statements in one query string` };
  const t = tag(isObj(stmts[0]) ? stmts[0].stmt : null);
  if (!t) return { kind: 'unsharded', reason: 'empty statement' };
  const [kind, n] = t;
  let table: string | null = null;
  let found: KeySource | null = null;
  if (kind === 'SelectStmt') {
    const from = list(n.fromClause);
    if (from.length === 0 && !mentionsSharded(n, scheme)) return { kind: 'unsharded', reason: 'no table' };
    const only = from.length === 1 ? relation(from[0]) : null;
    if (!only || !scheme.tables.has(only)) {
      return mentionsSharded(n, scheme)
        ? { kind: 'scatter', reason: 'joins and subqueries over sharded tables are not single-shard yet' }
        : { kind: 'unsharded', reason: 'no sharded table' };
    }
    table = only;
    found = keyInWhere(n.whereClause, scheme.tables.get(table)!.column);
  } else if (kind === 'UpdateStmt' || kind === 'DeleteStmt') {
    table = relation(n.relation);
    if (!table || !scheme.tables.has(table)) return { kind: 'unsharded', reason: 'no sharded table' };
    found = keyInWhere(n.whereClause, scheme.tables.get(table)!.column);
  } else if (kind === 'InsertStmt') {
    table = relation(n.relation);
    if (!table || !scheme.tables.has(table)) return { kind: 'unsharded', reason: 'no sharded table' };
    const cols = list(n.cols).map((c) => (tag(c)?.[1].name as string | undefined) ?? null);
    const idx = cols.indexOf(scheme.tables.get(table)!.column);
    const sel = tag(n.selectStmt);
    const rows = sel?.[0] === 'SelectStmt' ? list(sel[1].valuesLists) : [];
    if (idx < 0) return { kind: 'scatter', reason: `INSERT must name the sharding column ${scheme.tables.get(table)!.column}` };
    if (rows.length !== 1) return { kind: 'scatter', reason: 'INSERT must have exactly one VALUES row to be single-shard' };
    const row = tag(rows[0]);
    found = source(list(row?.[0] === 'List' ? row[1].items : [])[idx]);
  } else if (kind === 'TransactionStmt') {
    const k = String(n.kind);
    const tx = k === 'TRANS_STMT_BEGIN' || k === 'TRANS_STMT_START' ? 'begin' : k === 'TRANS_STMT_COMMIT' ? 'commit' : k === 'TRANS_STMT_ROLLBACK' ? 'rollback' : undefined;
    return { kind: 'unsharded', reason: `${kind} is not routed by key`, ...(tx ? { tx } : {}) };
  } else {
    return { kind: 'unsharded', reason: `${kind} is not routed by key` };
  }
  if (!found) return { kind: 'scatter', reason: `no "${scheme.tables.get(table)!.column} = <literal or $n>" for sharded table ${table}` };
  return { kind: 'keyed', table, key: scheme.tables.get(table)!, source: found };
}
