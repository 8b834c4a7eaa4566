// A SELECT over one sharded table without a single-shard key, split in two: a per-shard query (partial aggregates,
// hidden sort and group columns, LIMIT pushed down when that is exact) and the recipe of a final query that one
// PostgreSQL backend runs over the gathered rows (merge order, combine aggregates, GROUP BY, DISTINCT, LIMIT/OFFSET).
// The final step runs in PostgreSQL itself so types, collations, numeric scales and NULL ordering are PostgreSQL's.
// Whatever cannot be merged exactly is refused with the reason; it is never approximated.
import { deparseSync } from 'pgsql-deparser';
import type { ShardingScheme } from './sharding-scheme.js';
import { colocation } from './colocation.js';
import { isObj, list, tag, type Node } from './parse-tree.js';
import { aggregateCall, aggregateIn, call, funcName, partialAggregate, same, NotScatterable, type FinalColumn, type PartialColumns } from './scatter-aggregates.js';
import { planHaving, type Having } from './scatter-having.js';
import { parameterAnchor, rowCount, topNLimit, type RowCount } from './scatter-limits.js';

export { NotScatterable, type FinalColumn } from './scatter-aggregates.js';
export type { RowCount } from './scatter-limits.js';

export interface ScatterSelect {
  shardSql: string;
  /** Output columns the client sees; null: every shard column but the hidden ones, passed through. */
  columns: FinalColumn[] | null;
  /** Partial columns the client does not see (sort and group keys), at the end of the shard's row. */
  hidden: number;
  /** Columns in the shard query's target list ("*" counts one): col refs shift by the width "*" adds. */
  partialLength: number;
  /** Output column names PostgreSQL would give (aggregate queries; others take the shard's). */
  names: string[];
  aggregate: boolean;
  groupBy: number[];
  /** HAVING for the final query over the combined aggregates, or null. */
  having: Having | null;
  orderBy: { ref: { output: number } | { col: number }; desc: boolean; nulls: 'first' | 'last' | null }[];
  distinct: boolean;
  /** Literal or bind parameter: read from each execution's Bind (resolveRowCount). */
  limit: RowCount;
  offset: RowCount;
}

function intConst(v: unknown, what: string): number | null {
  const t = tag(v);
  if (!t) return null;
  if (t[0] === 'A_Const') {
    if (t[1].isnull) return null;
    if (isObj(t[1].ival)) return Number(t[1].ival.ival ?? 0);
  }
  throw new NotScatterable(`${what} must be an integer literal when the statement runs on every shard`);
}

function relationsOf(from: unknown[], out: { name: string; sub: boolean }[]): void {
  for (const f of from) {
    const t = tag(f);
    if (!t) continue;
    if (t[0] === 'RangeVar') out.push({ name: String(t[1].relname), sub: false });
    else if (t[0] === 'JoinExpr') relationsOf([t[1].larg, t[1].rarg], out);
    else if (t[0] === 'RangeSubselect' || t[0] === 'RangeFunction') out.push({ name: t[0], sub: true });
    else out.push({ name: t[0], sub: true });
  }
}

function mentionsSharded(v: unknown, scheme: ShardingScheme): boolean {
  if (Array.isArray(v)) return v.some((x) => mentionsSharded(x, scheme));
  if (!isObj(v)) return false;
  if (isObj(v.RangeVar) && scheme.tables.has(String(v.RangeVar.relname))) return true;
  return Object.values(v).some((x) => mentionsSharded(x, scheme));
}

const res = (val: unknown, name?: string): Node => ({ ResTarget: { val, ...(name ? { name } : {}) } });

/** Plans the scatter of one SELECT over sharded table(s); throws NotScatterable naming what cannot be merged. */
export function planScatter(select: Node, scheme: ShardingScheme): ScatterSelect {
  if (select.withClause) throw new NotScatterable('WITH over sharded tables');
  if (select.op && select.op !== 'SETOP_NONE') throw new NotScatterable('UNION/INTERSECT/EXCEPT over sharded tables');
  if (list(select.lockingClause).length) throw new NotScatterable('FOR UPDATE/SHARE over every shard');
  if (select.intoClause) throw new NotScatterable('SELECT INTO over sharded tables');
  if (select.limitOption === 'LIMIT_OPTION_WITH_TIES') throw new NotScatterable('FETCH ... WITH TIES over sharded rows');
  const distinctList = list(select.distinctClause);
  const distinct = Array.isArray(select.distinctClause);
  if (distinct && distinctList.some((d) => isObj(d) && Object.keys(d).length > 0)) throw new NotScatterable('DISTINCT ON over sharded rows');
  const rels: { name: string; sub: boolean }[] = [];
  relationsOf(list(select.fromClause), rels);
  const sharded = rels.filter((r) => scheme.tables.has(r.name));
  if (sharded.length > 1 && !colocation(list(select.fromClause), select.whereClause, scheme, () => null).colocated) {
    throw new NotScatterable(`a join of ${sharded.length} sharded tables (${sharded.map((r) => r.name).join(', ')}) not tied by equal sharding columns`);
  }
  for (const r of rels) {
    if (r.sub) {
      if (mentionsSharded(select.fromClause, scheme) && r.name === 'RangeSubselect') throw new NotScatterable('a subquery in FROM next to a sharded table');
      continue;
    }
    if (!scheme.tables.has(r.name) && !scheme.referenceTables.has(r.name)) {
      throw new NotScatterable(`table ${r.name} is neither sharded nor a reference table, so it is on one shard only and cannot be joined on every shard`);
    }
  }
  for (const part of [select.whereClause, select.targetList, select.groupClause, select.havingClause, select.sortClause]) {
    if (JSON.stringify(part ?? null).includes('"SubLink"') && mentionsSharded(part, scheme)) throw new NotScatterable('a subquery over a sharded table inside the statement');
  }

  const targets = list(select.targetList).map((t) => tag(t)![1]);
  const groupClause = list(select.groupClause);
  for (const g of groupClause) {
    const t = tag(g);
    if (t && (t[0] === 'GroupingSet' || t[0] === 'RowExpr')) throw new NotScatterable('GROUPING SETS/ROLLUP/CUBE over sharded rows');
  }
  // HAVING makes a statement grouped even without aggregates in its list (one group: the whole table).
  const aggregate = groupClause.length > 0 || select.havingClause !== undefined || targets.some((t) => aggregateIn(t.val) !== null);
  const partial: Node[] = [];
  const add = (val: unknown, name?: string): number => { partial.push(res(val, name ?? `pgop_p${partial.length}`)); return partial.length - 1; };
  let columns: FinalColumn[] | null = null;
  const groupBy: number[] = [];
  const p: PartialColumns = { add: (v) => add(v), groupExprs: [], distinctArgs: [] };
  const groupExprs = p.groupExprs;
  let having: Having | null = null;

  if (!aggregate) {
    for (const t of targets) partial.push(res(t.val, t.name as string | undefined));
  } else {
    columns = targets.map((t) => {
      const a = aggregateCall(t.val);
      if (a) return partialAggregate(a.f, a.cast, p);
      if (aggregateIn(t.val)) throw new NotScatterable('an expression around an aggregate (only a plain aggregate, optionally cast, can be combined across shards)');
      const col = add(t.val);
      groupExprs.push({ expr: t.val, col });
      return { kind: 'plain', col };
    });
    for (const g of groupClause) {
      const ord = tag(g)?.[0] === 'A_Const' ? intConst(g, 'GROUP BY position') : null;
      let col: number;
      if (ord !== null) {
        const c = columns[ord - 1];
        if (!c || c.kind !== 'plain') throw new NotScatterable(`GROUP BY ${ord} does not name a plain output column`);
        col = c.col;
      } else {
        const hit = groupExprs.find((e) => same(e.expr, g));
        col = hit ? hit.col : add(g);
        if (!hit) groupExprs.push({ expr: g, col });
      }
      if (!groupBy.includes(col)) groupBy.push(col);
    }
    // Plain output columns are grouped too: PostgreSQL accepted them, so they are functions of the group keys.
    for (const c of columns) if (c.kind === 'plain' && !groupBy.includes(c.col)) groupBy.push(c.col);
    if (select.havingClause !== undefined) having = planHaving(select.havingClause, p);
    // Without GROUP BY the statement has one group even over no rows: each shard must send its one row too, so
    // its query must aggregate (a hidden count when neither the list nor HAVING has a partial aggregate).
    const partials = [...columns, ...(having?.terms ?? [])].some((c) => c.kind !== 'plain');
    if (!groupClause.length && !p.distinctArgs.length && !partials) add(call('count', null));
    // Without GROUP BY the final query has one group, made of the shards' rows: grouped by the DISTINCT argument,
    // a shard with no rows sends none, and the final query would group constant columns into no row at all.
    if (p.distinctArgs.length && !groupClause.length && columns.some((c) => c.kind === 'plain')) {
      throw new NotScatterable('a constant column beside an aggregate over DISTINCT without GROUP BY');
    }
  }
  /** What the shards group by: the statement's keys and the DISTINCT argument (never the final query's). */
  const shardGroupBy = [...(groupClause.length ? groupBy : [])];
  for (const d of p.distinctArgs) if (!shardGroupBy.includes(d.col)) shardGroupBy.push(d.col);

  const visible = aggregate ? 0 : partial.length;
  const hasStar = targets.some((t) => JSON.stringify(t.val).includes('"A_Star"'));
  const orderBy: ScatterSelect['orderBy'] = [];
  for (const s of list(select.sortClause)) {
    const sb = tag(s)![1];
    if (sb.sortby_dir === 'SORTBY_USING') throw new NotScatterable('ORDER BY ... USING over sharded rows');
    let node = sb.node;
    if (tag(node)?.[0] === 'CollateClause') throw new NotScatterable('ORDER BY ... COLLATE over sharded rows (give the column that collation in the table instead)');
    const desc = sb.sortby_dir === 'SORTBY_DESC';
    const nulls = sb.sortby_nulls === 'SORTBY_NULLS_FIRST' ? 'first' : sb.sortby_nulls === 'SORTBY_NULLS_LAST' ? 'last' : null;
    const ord = tag(node)?.[0] === 'A_Const' ? intConst(node, 'ORDER BY position') : null;
    if (ord !== null) { orderBy.push({ ref: { output: ord }, desc, nulls }); continue; }
    const alias = (() => { const c = tag(node); const f = c?.[0] === 'ColumnRef' ? list(c[1].fields) : []; return f.length === 1 ? String(tag(f[0])?.[1].sval ?? '') : ''; })();
    // With "*" in the list, output positions are known only from the shard's row description: sort on a hidden column.
    const byTarget = hasStar ? -1 : targets.findIndex((t) => same(t.val, node) || (alias && t.name === alias));
    if (byTarget >= 0) { orderBy.push({ ref: { output: byTarget + 1 }, desc, nulls }); continue; }
    if (aggregate) {
      const hit = groupExprs.find((e) => same(e.expr, node));
      if (!hit) throw new NotScatterable('ORDER BY an expression that is neither an output column nor a GROUP BY key');
      if (distinct) throw new NotScatterable('ORDER BY expressions must appear in the select list with DISTINCT');
      orderBy.push({ ref: { col: hit.col }, desc, nulls });
      continue;
    }
    if (distinct) throw new NotScatterable('ORDER BY expressions must appear in the select list with DISTINCT');
    node = sb.node;
    orderBy.push({ ref: { col: add(node) }, desc, nulls });
  }

  const limit = select.limitCount === undefined ? null : rowCount(select.limitCount, 'LIMIT');
  const offset = select.limitOffset === undefined ? null : rowCount(select.limitOffset, 'OFFSET');
  const shard: Node = { ...select, targetList: partial };
  delete shard.sortClause; delete shard.limitCount; delete shard.limitOffset; delete shard.havingClause;
  shard.limitOption = 'LIMIT_OPTION_DEFAULT';
  if (aggregate) {
    // Each shard's groups are distinct already; DISTINCT applies to the combined rows in the final query.
    delete shard.groupClause; delete shard.distinctClause;
    if (shardGroupBy.length) shard.groupClause = shardGroupBy.map((c) => ({ A_Const: { ival: { ival: c + 1 } } }));
  } else if (limit !== null && !distinct) {
    // Top-N per shard is exact for the merged top-N (with the same order); OFFSET only after the merge.
    shard.sortClause = select.sortClause;
    shard.limitCount = topNLimit(limit, offset, select.limitCount, select.limitOffset);
    shard.limitOption = 'LIMIT_OPTION_COUNT';
  }
  if (!shard.limitCount) {
    const anchor = parameterAnchor(limit, offset, select.limitCount, select.limitOffset);
    if (anchor) { shard.limitCount = anchor; shard.limitOption = 'LIMIT_OPTION_COUNT'; }
  }
  return {
    shardSql: deparseSync({ version: 0, stmts: [{ stmt: { SelectStmt: shard } }] } as never),
    columns, hidden: aggregate ? 0 : partial.length - visible, partialLength: partial.length, names: targets.map((t) => (t.name as string | undefined) ?? figureColname(t.val)), aggregate, groupBy, having, orderBy, distinct, limit, offset,
  };
}

/** PostgreSQL's FigureColname, for the shapes an aggregate query's list can have. */
function figureColname(v: unknown): string {
  const t = tag(v);
  if (!t) return '?column?';
  if (t[0] === 'ColumnRef') { const f = list(t[1].fields); return String(tag(f[f.length - 1])?.[1].sval ?? '?column?'); }
  if (t[0] === 'FuncCall') return funcName(t[1]) || '?column?';
  if (t[0] === 'TypeCast') {
    const inner = figureColname(t[1].arg);
    if (inner !== '?column?') return inner;
    const names = list(isObj(t[1].typeName) ? t[1].typeName.names : []);
    return String(tag(names[names.length - 1])?.[1].sval ?? '?column?');
  }
  return '?column?';
}

/** True when the gathered rows need the final query (anything but plain concatenation). */
export function needsMerge(p: ScatterSelect): boolean {
  return p.aggregate || p.distinct || p.orderBy.length > 0 || p.offset !== null || p.hidden > 0;
}
