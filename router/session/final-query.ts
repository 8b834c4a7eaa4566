// The final query of a scatter read: one PostgreSQL backend runs it over the gathered partial rows, passed as one
// array parameter per partial column and unnested into columns c0, c1, ... It combines the partial aggregates,
// groups, applies HAVING and DISTINCT, sorts and applies LIMIT/OFFSET, so every step is PostgreSQL's own.
import pg from 'pg';
import type { FinalColumn, ScatterSelect } from '../planner/scatter-plan.js';
import { HAVING_TERM } from '../planner/scatter-having.js';
import { MultiShardError } from './multi-shard-error.js';

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

/** LIMIT and OFFSET of one execution (parameters read from its Bind). */
export interface RowCounts { limit: bigint | null; offset: bigint | null }

/** The final query over the gathered partial rows, run as an unnamed extended-protocol statement on one backend. */
export function finalQuery(p: ScatterSelect, counts: RowCounts, fields: { name: string; type: number }[], rows: Buffer[]): { sql: string; types: number[]; values: string[] } {
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
  const combined = (c: FinalColumn) => combine(c, fields, col);
  const select = !p.columns
    ? fields.slice(0, visible).map((f, i) => `c${i} as ${pg.escapeIdentifier(f.name)}`)
    : p.columns.map((c, i) => `${combined(c)} as ${pg.escapeIdentifier(p.names[i] ?? '?column?')}`);
  let sql = `select ${p.distinct ? 'distinct ' : ''}${select.join(', ')} from unnest(${fields.map((_, i) => `$${i + 1}`).join(', ')}) as p(${fields.map((_, i) => `c${i}`).join(', ')})`;
  if (p.groupBy.length) sql += ` group by ${p.groupBy.map(col).join(', ')}`;
  if (p.having) {
    const terms = p.having.terms;
    sql += ` having ${p.having.sql.replace(HAVING_TERM, (_, n: string) => combined(terms[Number(n)]!))}`;
  }
  if (p.orderBy.length) {
    sql += ` order by ${p.orderBy.map((o) => `${'output' in o.ref ? String(o.ref.output) : col(o.ref.col)}${o.desc ? ' desc' : ''}${o.nulls ? ` nulls ${o.nulls}` : ''}`).join(', ')}`;
  }
  if (counts.limit !== null) sql += ` limit ${counts.limit}`;
  if (counts.offset !== null) sql += ` offset ${counts.offset}`;
  return { sql, types, values: columns };
}

/** One output (or HAVING) term from the partial columns, parenthesised, with the statement's cast. */
function combine(c: FinalColumn, fields: { type: number }[], col: (c: number) => string): string {
  if (c.kind === 'plain') return col(c.col);
  let expr: string;
  switch (c.kind) {
    case 'count': expr = `sum(${col(c.col)})::int8`; break;
    // Partial sums of int2/int4 columns are int8, whose sum is numeric: back to int8, PostgreSQL's type for them.
    case 'sum': expr = fields[c.col]!.type === 20 ? `sum(${col(c.col)})::int8` : `sum(${col(c.col)})`; break;
    case 'min': case 'max': expr = `${c.kind}(${col(c.col)})`; break;
    case 'distinct': expr = `${c.agg}(distinct ${col(c.col)})`; break;
    case 'avg': {
      const t = fields[c.sumCol]!.type;
      if (t === 20 || t === 1700) expr = `sum(${col(c.sumCol)})::numeric / sum(${col(c.countCol)})::numeric`;
      else if (t === 700 || t === 701) expr = `sum(${col(c.sumCol)})::float8 / sum(${col(c.countCol)})::float8`;
      else throw new MultiShardError(`avg over type oid ${t} cannot be combined across shards (integer, numeric and float can)`);
      break;
    }
  }
  return `(${expr})${c.cast ? `::${c.cast}` : ''}`;
}
