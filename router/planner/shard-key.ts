// From a parsed statement to where its sharding key comes from: a literal, a bind parameter, or nowhere. Only the
// shapes a single-shard fast path can prove are recognised: one sharded table, and `key = value` as a top-level
// AND conjunct of WHERE (SELECT / UPDATE / DELETE) or the key column of a one-row INSERT ... VALUES. Anything else
// says why it is not single-shard, which is what `SHOW pgop.route` prints.
import type { ShardingScheme, ShardedTable } from './sharding-scheme.js';
import { planScatter, NotScatterable, type ScatterSelect } from './scatter-plan.js';
import { colocation, fromTables, type KeySource } from './colocation.js';
import { isObj, list, tag, type Node } from './parse-tree.js';

export type { KeySource } from './colocation.js';

export type RoutePlan =
  | { kind: 'keyed'; table: string; key: ShardedTable; source: KeySource }
  | { kind: 'unsharded'; reason: string; tx?: 'begin' | 'commit' | 'rollback' }
  | { kind: 'scatter'; reason: string; select?: ScatterSelect }
  | { kind: 'fanout'; reason: string; what: 'ddl' | 'reference' | 'role' };

/** Utility statements that define or change objects: they apply to every shard. */
const FANOUT = /^(Create|Alter|Drop|Rename|Grant|Comment|Index|View|Define|CompositeType|Truncate|Vacuum|Reindex|Cluster|Rule|ReassignOwned|SecLabel)/;
const NOT_FANOUT = new Set(['CreateTableAsStmt', 'AlterSystemStmt']);

function scatterSelect(n: Node, scheme: ShardingScheme, why: string): RoutePlan {
  try {
    return { kind: 'scatter', reason: `${why}; runs on every shard and merges`, select: planScatter(n, scheme) };
  } catch (e) {
    if (e instanceof NotScatterable) return { kind: 'scatter', reason: `${why}, and ${e.message} cannot be merged exactly across shards` };
    throw e;
  }
}

function roleWithPassword(n: Node): boolean {
  return list(n.options).some((o) => tag(o)?.[1].defname === 'password' && tag(tag(o)?.[1].arg)?.[0] === 'String');
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

function referenceWrite(n: Node, table: string, scheme: ShardingScheme): RoutePlan {
  const { relation: _r, ...rest } = n;
  if (mentionsSharded(rest, scheme)) return { kind: 'scatter', reason: `a write to reference table ${table} that reads sharded tables would differ per shard` };
  return { kind: 'fanout', reason: `a write to reference table ${table} applies to every shard`, what: 'reference' };
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
    const co = colocation(from, n.whereClause, scheme, source);
    if (co.sharded.length === 0) {
      return mentionsSharded(n, scheme)
        ? scatterSelect(n, scheme, 'subqueries over sharded tables are not single-shard')
        : { kind: 'unsharded', reason: 'no sharded table' };
    }
    // A subquery over a sharded table sees only one shard's rows on the fast path: it must not take it.
    const { fromClause: _f, ...outsideFrom } = n;
    if (mentionsSharded(outsideFrom, scheme) || JSON.stringify(from).includes('"RangeSubselect"')) return scatterSelect(n, scheme, 'a subquery over a sharded table');
    if (!co.colocated) return scatterSelect(n, scheme, 'joins of sharded tables not tied by their sharding columns are not single-shard');
    const stray = fromTables(from).tables.find((t) => !scheme.tables.has(t.name) && !scheme.referenceTables.has(t.name));
    if (stray) return { kind: 'scatter', reason: `table ${stray.name} is neither sharded nor a reference table, so it lives on one shard only and cannot be joined with sharded rows` };
    if (!co.key) {
      const cols = [...new Set(co.sharded.map((t) => scheme.tables.get(t.name)!.column))].join('/');
      return scatterSelect(n, scheme, `no "${cols} = <literal or $n>" for sharded table${co.sharded.length > 1 ? 's' : ''} ${co.sharded.map((t) => t.name).join(', ')}`);
    }
    table = co.key.table;
    found = co.key.source;
  } else if (kind === 'UpdateStmt' || kind === 'DeleteStmt') {
    table = relation(n.relation);
    if (table && scheme.referenceTables.has(table)) return referenceWrite(n, table, scheme);
    if (!table || !scheme.tables.has(table)) return { kind: 'unsharded', reason: 'no sharded table' };
    found = keyInWhere(n.whereClause, scheme.tables.get(table)!.column);
  } else if (kind === 'InsertStmt') {
    table = relation(n.relation);
    if (table && scheme.referenceTables.has(table)) return referenceWrite(n, table, scheme);
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
  } else if ((kind === 'CreateRoleStmt' || kind === 'AlterRoleStmt') && roleWithPassword(n)) {
    return { kind: 'fanout', reason: `${kind} applies to every shard, with the same password verifier`, what: 'role' };
  } else if (FANOUT.test(kind) && !NOT_FANOUT.has(kind)) {
    return { kind: 'fanout', reason: `${kind} applies to every shard`, what: 'ddl' };
  } else {
    return { kind: 'unsharded', reason: `${kind} is not routed by key` };
  }
  if (!found) return { kind: 'scatter', reason: `no "${scheme.tables.get(table)!.column} = <literal or $n>" for sharded table ${table}` };
  return { kind: 'keyed', table, key: scheme.tables.get(table)!, source: found };
}
