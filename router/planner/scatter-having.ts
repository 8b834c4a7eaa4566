// HAVING over sharded rows: the shards send GROUP BY partials (never filtered: a group's partials on one shard say
// nothing about the whole group), and the final query applies HAVING over the combined aggregates. The clause is
// rewritten for the final query: each aggregate call becomes partial columns plus a term combined in the final
// query, each group key a term naming its partial column. Terms are placeholders `pgop_hN` in the deparsed text,
// replaced when the final query is built (the combine step depends on the column types the shards report).
import { deparseSync } from 'pgsql-deparser';
import { isObj, tag, type Node } from './parse-tree.js';
import { isAggregateCall, partialAggregate, same, NotScatterable, type FinalColumn, type PartialColumns } from './scatter-aggregates.js';

export interface Having {
  /** The clause for the final query, with placeholders pgop_h0, pgop_h1, ... for `terms`. */
  sql: string;
  terms: FinalColumn[];
}

export const HAVING_TERM = /\bpgop_h(\d+)\b/g;

export function planHaving(clause: unknown, p: PartialColumns): Having {
  // The placeholders are found again by name in the deparsed text: a clause that already spells one is refused.
  if (JSON.stringify(clause).includes('pgop_h')) throw new NotScatterable('HAVING that mentions the name pgop_h');
  const terms: FinalColumn[] = [];
  const term = (c: FinalColumn): Node => {
    terms.push(c);
    return { ColumnRef: { fields: [{ String: { sval: `pgop_h${terms.length - 1}` } }] } };
  };
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (!isObj(v)) return v;
    const t = tag(v);
    if (!t) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x)]));
    const group = p.groupExprs.find((e) => same(e.expr, v));
    if (group) return term({ kind: 'plain', col: group.col });
    if (t[0] === 'FuncCall' && isAggregateCall(t[1])) {
      if (t[1].over) throw new NotScatterable('a window function in HAVING');
      return term(partialAggregate(t[1], null, p));
    }
    if (t[0] === 'ColumnRef') throw new NotScatterable('HAVING over a column that is not a GROUP BY key outside an aggregate');
    if (t[0] === 'ParamRef') throw new NotScatterable('a parameter ($n) in HAVING over sharded rows');
    if (t[0] === 'SubLink') throw new NotScatterable('a subquery in HAVING over sharded rows');
    return { [t[0]]: Object.fromEntries(Object.entries(t[1]).map(([k, x]) => [k, rewrite(x)])) };
  };
  return { sql: deparseSync(rewrite(clause) as never), terms };
}
