// A SELECT over one sharded table without a single-shard key, split in two: a per-shard query (partial aggregates,
// hidden sort and group columns, LIMIT pushed down when that is exact) and the recipe of a final query that one
// PostgreSQL backend runs over the gathered rows (merge order, combine aggregates, GROUP BY, DISTINCT, LIMIT/OFFSET).
// The final step runs in PostgreSQL itself so types, collations, numeric scales and NULL ordering are PostgreSQL's.
// Whatever cannot be merged exactly is refused with the reason; it is never approximated.
import { deparseSync } from 'pgsql-deparser';
import type { ShardingScheme } from './sharding-scheme.js';
import { colocation } from './colocation.js';
import { isObj, list, tag, type Node } from './parse-tree.js';


/** How one output column of the final query is made from partial columns c0, c1, ... */
export type FinalColumn =
  | { kind: 'plain'; col: number }
  | { kind: 'count' | 'sum' | 'min' | 'max'; col: number; cast: string | null }
  | { kind: 'avg'; sumCol: number; countCol: number; cast: string | null };

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
  orderBy: { ref: { output: number } | { col: number }; desc: boolean; nulls: 'first' | 'last' | null }[];
  distinct: boolean;
  limit: number | null;
  offset: number | null;
}

export class NotScatterable extends Error {}

const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);
/** Aggregates the router cannot combine: refused rather than answered once per shard. */
const OTHER_AGGREGATES = new Set(['array_agg', 'string_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'bit_xor', 'json_agg', 'jsonb_agg',
  'json_object_agg', 'jsonb_object_agg', 'xmlagg', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'corr', 'covar_pop',
  'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy',
  'percentile_cont', 'percentile_disc', 'mode', 'range_agg', 'range_intersect_agg', 'any_value', 'json_arrayagg', 'json_objectagg']);

function funcName(n: Node): string {
  const names = list(n.funcname).map((x) => String(tag(x)?.[1].sval ?? ''));
  if (names.length === 2 && names[0] !== 'pg_catalog') return '';
  return names[names.length - 1] ?? '';
}

/** Whether a node (not descending into subqueries' own aggregates) contains an aggregate or window call. */
function aggregateIn(v: unknown): string | null {
  if (Array.isArray(v)) { for (const x of v) { const a = aggregateIn(x); if (a) return a; } return null; }
  if (!isObj(v)) return null;
  const t = tag(v);
  if (t?.[0] === 'FuncCall') {
    const n = t[1];
    const name = funcName(n);
    if (n.over) throw new NotScatterable(`window function ${name}() over sharded rows`);
    if (AGGREGATES.has(name) || OTHER_AGGREGATES.has(name) || n.agg_star || n.agg_distinct || n.agg_filter || n.agg_order || n.agg_within_group) return name || 'aggregate';
  }
  if (t?.[0] === 'SubLink' || t?.[0] === 'RangeSubselect') return null;
  for (const x of Object.values(v)) { const a = aggregateIn(x); if (a) return a; }
  return null;
}

/** Parse-tree equality without source locations. */
function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, (k, v: unknown) => (k === 'location' ? undefined : v)) === JSON.stringify(b, (k, v: unknown) => (k === 'location' ? undefined : v));
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
const call = (name: string, args: unknown[] | null): Node =>
  ({ FuncCall: { funcname: [{ String: { sval: name } }], ...(args ? { args } : { agg_star: true }), funcformat: 'COERCE_EXPLICIT_CALL' } });

/** Plans the scatter of one SELECT over sharded table(s); throws NotScatterable naming what cannot be merged. */
export function planScatter(select: Node, scheme: ShardingScheme): ScatterSelect {
  if (select.withClause) throw new NotScatterable('WITH over sharded tables');
  if (select.op && select.op !== 'SETOP_NONE') throw new NotScatterable('UNION/INTERSECT/EXCEPT over sharded tables');
  if (list(select.lockingClause).length) throw new NotScatterable('FOR UPDATE/SHARE over every shard');
  if (select.intoClause) throw new NotScatterable('SELECT INTO over sharded tables');
  if (select.havingClause) throw new NotScatterable('HAVING over sharded rows');
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
  for (const part of [select.whereClause, select.targetList, select.groupClause, select.sortClause]) {
    if (JSON.stringify(part ?? null).includes('"SubLink"') && mentionsSharded(part, scheme)) throw new NotScatterable('a subquery over a sharded table inside the statement');
  }

  const targets = list(select.targetList).map((t) => tag(t)![1]);
  const groupClause = list(select.groupClause);
  for (const g of groupClause) {
    const t = tag(g);
    if (t && (t[0] === 'GroupingSet' || t[0] === 'RowExpr')) throw new NotScatterable('GROUPING SETS/ROLLUP/CUBE over sharded rows');
  }
  const aggregate = groupClause.length > 0 || targets.some((t) => aggregateIn(t.val) !== null);
  const partial: Node[] = [];
  const add = (val: unknown, name?: string): number => { partial.push(res(val, name ?? `pgop_p${partial.length}`)); return partial.length - 1; };
  let columns: FinalColumn[] | null = null;
  const groupBy: number[] = [];
  const groupExprs: { expr: unknown; col: number }[] = [];

  if (!aggregate) {
    for (const t of targets) partial.push(res(t.val, t.name as string | undefined));
  } else {
    if (distinct) throw new NotScatterable('DISTINCT together with aggregates or GROUP BY over sharded rows');
    columns = targets.map((t) => {
      let val = t.val;
      let cast: string | null = null;
      const tc = tag(val);
      if (tc?.[0] === 'TypeCast' && aggregateIn(tc[1].arg)) { cast = deparseSync({ TypeName: tc[1].typeName } as never); val = tc[1].arg; }
      const f = tag(val);
      if (f?.[0] === 'FuncCall' && aggregateIn(val)) {
        const n = f[1];
        const name = funcName(n);
        if (!AGGREGATES.has(name)) throw new NotScatterable(`aggregate ${name || 'call'}() cannot be combined across shards (count, sum, min, max and avg can)`);
        if (n.agg_distinct) throw new NotScatterable(`${name}(DISTINCT ...) cannot be combined across shards`);
        if (n.agg_filter || n.agg_order || n.agg_within_group) throw new NotScatterable(`${name}() with FILTER or ORDER BY cannot be combined across shards`);
        const args = list(n.args);
        if (args.some((a) => aggregateIn(a))) throw new NotScatterable('nested aggregates');
        if (name === 'avg') return { kind: 'avg', sumCol: add(call('sum', args)), countCol: add(call('count', args)), cast };
        return { kind: name as 'count' | 'sum' | 'min' | 'max', col: add(n.agg_star ? call('count', null) : call(name, args)), cast };
      }
      if (aggregateIn(val)) throw new NotScatterable('an expression around an aggregate (only a plain aggregate, optionally cast, can be combined across shards)');
      const col = add(val);
      groupExprs.push({ expr: val, col });
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
  }

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
      orderBy.push({ ref: { col: hit.col }, desc, nulls });
      continue;
    }
    if (distinct) throw new NotScatterable('ORDER BY expressions must appear in the select list with DISTINCT');
    node = sb.node;
    orderBy.push({ ref: { col: add(node) }, desc, nulls });
  }

  const limit = select.limitCount === undefined ? null : intConst(select.limitCount, 'LIMIT');
  const offset = select.limitOffset === undefined ? null : intConst(select.limitOffset, 'OFFSET');
  const shard: Node = { ...select, targetList: partial };
  delete shard.sortClause; delete shard.limitCount; delete shard.limitOffset;
  shard.limitOption = 'LIMIT_OPTION_DEFAULT';
  if (aggregate) {
    delete shard.groupClause;
    if (groupBy.length) shard.groupClause = groupBy.map((c) => ({ A_Const: { ival: { ival: c + 1 } } }));
  } else if (limit !== null && !distinct) {
    // Top-N per shard is exact for the merged top-N (with the same order); OFFSET only after the merge.
    shard.sortClause = select.sortClause;
    shard.limitCount = { A_Const: { ival: { ival: limit + (offset ?? 0) } } };
    shard.limitOption = 'LIMIT_OPTION_COUNT';
  }
  return {
    shardSql: deparseSync({ version: 0, stmts: [{ stmt: { SelectStmt: shard } }] } as never),
    columns, hidden: aggregate ? 0 : partial.length - visible, partialLength: partial.length, names: targets.map((t) => (t.name as string | undefined) ?? figureColname(t.val)), aggregate, groupBy, orderBy, distinct, limit, offset,
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
