// Aggregates over sharded rows: which calls exist in a tree, and how one call becomes partial columns on the shards
// plus the combine step of the final query. count/sum/min/max/avg combine from per-shard partials; an aggregate over
// DISTINCT x pushes `x` into the shards' GROUP BY (each shard sends its distinct values of x per group, with the
// other aggregates' partials per (group, x)) and the final query aggregates those values, DISTINCT again, itself.
// This costs one shard row per distinct (group, x, ...) instead of one per group: exact, not cheap.
import { deparseSync } from 'pgsql-deparser';
import { isObj, list, tag, type Node } from './parse-tree.js';

export class NotScatterable extends Error {}

/** How one output column of the final query is made from partial columns c0, c1, ... */
export type FinalColumn =
  | { kind: 'plain'; col: number }
  | { kind: 'count' | 'sum' | 'min' | 'max'; col: number; cast: string | null }
  | { kind: 'avg'; sumCol: number; countCol: number; cast: string | null }
  /** agg(DISTINCT x): the shards group by x too; the final query runs agg(DISTINCT x) over their values. */
  | { kind: 'distinct'; agg: 'count' | 'sum' | 'avg' | 'min' | 'max'; col: number; cast: string | null };

export const AGGREGATES = new Set(['count', 'sum', 'min', 'max', 'avg']);
/** Aggregates the router cannot combine: refused rather than answered once per shard. */
const OTHER_AGGREGATES = new Set(['array_agg', 'string_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'bit_xor', 'json_agg', 'jsonb_agg',
  'json_object_agg', 'jsonb_object_agg', 'xmlagg', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'corr', 'covar_pop',
  'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy',
  'percentile_cont', 'percentile_disc', 'mode', 'range_agg', 'range_intersect_agg', 'any_value', 'json_arrayagg', 'json_objectagg']);

export function funcName(n: Node): string {
  const names = list(n.funcname).map((x) => String(tag(x)?.[1].sval ?? ''));
  if (names.length === 2 && names[0] !== 'pg_catalog') return '';
  return names[names.length - 1] ?? '';
}

/** Whether a FuncCall's body is itself an aggregate call (not merely one with an aggregate among its arguments). */
export function isAggregateCall(n: Node): boolean {
  const name = funcName(n);
  return AGGREGATES.has(name) || OTHER_AGGREGATES.has(name) || Boolean(n.agg_star || n.agg_distinct || n.agg_filter || n.agg_order || n.agg_within_group);
}

/** Whether a node (not descending into subqueries' own aggregates) contains an aggregate or window call. */
export function aggregateIn(v: unknown): string | null {
  if (Array.isArray(v)) { for (const x of v) { const a = aggregateIn(x); if (a) return a; } return null; }
  if (!isObj(v)) return null;
  const t = tag(v);
  if (t?.[0] === 'FuncCall') {
    const n = t[1];
    const name = funcName(n);
    if (n.over) throw new NotScatterable(`window function ${name}() over sharded rows`);
    if (isAggregateCall(n)) return name || 'aggregate';
  }
  if (t?.[0] === 'SubLink' || t?.[0] === 'RangeSubselect') return null;
  for (const x of Object.values(v)) { const a = aggregateIn(x); if (a) return a; }
  return null;
}

/** Parse-tree equality without source locations. */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a, (k, v: unknown) => (k === 'location' ? undefined : v)) === JSON.stringify(b, (k, v: unknown) => (k === 'location' ? undefined : v));
}

export const call = (name: string, args: unknown[] | null): Node =>
  ({ FuncCall: { funcname: [{ String: { sval: name } }], ...(args ? { args } : { agg_star: true }), funcformat: 'COERCE_EXPLICIT_CALL' } });

/** The shard-side columns being built: `add` appends a partial column and returns its index. */
export interface PartialColumns {
  add(val: unknown): number;
  /** Group expressions already in the partial row (plain output columns and GROUP BY keys). */
  groupExprs: { expr: unknown; col: number }[];
  /** DISTINCT arguments, pushed into the shards' GROUP BY (each value of each one then reaches the final query). */
  distinctArgs: { expr: unknown; col: number }[];
}

/** One aggregate call (optionally under a cast) as partial columns and its combine step. */
export function partialAggregate(f: Node, cast: string | null, p: PartialColumns): FinalColumn {
  const name = funcName(f);
  if (!AGGREGATES.has(name)) throw new NotScatterable(`aggregate ${name || 'call'}() cannot be combined across shards (count, sum, min, max and avg can)`);
  if (f.agg_filter || f.agg_order || f.agg_within_group) throw new NotScatterable(`${name}() with FILTER or ORDER BY cannot be combined across shards`);
  const args = list(f.args);
  if (args.some((a) => aggregateIn(a))) throw new NotScatterable('nested aggregates');
  if (f.agg_distinct) {
    if (args.length !== 1) throw new NotScatterable(`${name}(DISTINCT ...) over more than one argument`);
    const arg = args[0];
    // Two DISTINCT arguments x, y: the shards group by both, so each shard row is one (group, x, y) and the
    // final agg(DISTINCT x) still sees every x of the group exactly as a single server would (duplicates go).
    let d = p.distinctArgs.find((e) => same(e.expr, arg));
    if (!d) {
      const hit = p.groupExprs.find((e) => same(e.expr, arg));
      d = { expr: arg, col: hit ? hit.col : p.add(arg) };
      p.distinctArgs.push(d);
    }
    return { kind: 'distinct', agg: name as 'count' | 'sum' | 'avg' | 'min' | 'max', col: d.col, cast };
  }
  if (name === 'avg') return { kind: 'avg', sumCol: p.add(call('sum', args)), countCol: p.add(call('count', args)), cast };
  return { kind: name as 'count' | 'sum' | 'min' | 'max', col: p.add(f.agg_star ? call('count', null) : call(name, args)), cast };
}

/** An output expression that is an aggregate call, optionally cast: its call node and the cast's type text. */
export function aggregateCall(val: unknown): { f: Node; cast: string | null } | null {
  let v = val;
  let cast: string | null = null;
  const tc = tag(v);
  if (tc?.[0] === 'TypeCast' && aggregateIn(tc[1].arg)) { cast = deparseSync({ TypeName: tc[1].typeName } as never); v = tc[1].arg; }
  const f = tag(v);
  return f?.[0] === 'FuncCall' && aggregateIn(v) ? { f: f[1], cast } : null;
}
