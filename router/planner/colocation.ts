// Joins of sharded tables that every shard can answer alone: all sharded tables in the FROM list are tied together
// by equalities between their sharding columns (same vindex type), so matching rows always live on the same shard.
// A `key = value` on any of them (in WHERE or an inner join's ON) then names the one shard.
import type { ShardingScheme } from './sharding-scheme.js';
import { isObj, list, tag } from './parse-tree.js';


export interface FromTable { name: string; alias: string }

/** Plain tables of a FROM list (through joins), the ON conditions of inner joins and of all joins. */
export function fromTables(from: unknown[]): { tables: FromTable[]; innerQuals: unknown[]; allQuals: unknown[]; subqueries: boolean } {
  const out = { tables: [] as FromTable[], innerQuals: [] as unknown[], allQuals: [] as unknown[], subqueries: false };
  const walk = (f: unknown, inner: boolean) => {
    const t = tag(f);
    if (!t) return;
    if (t[0] === 'RangeVar') {
      const schema = t[1].schemaname;
      const name = schema === undefined || schema === 'public' ? String(t[1].relname) : `${String(schema)}.${String(t[1].relname)}`;
      const alias = isObj(t[1].alias) ? String(t[1].alias.aliasname) : String(t[1].relname);
      out.tables.push({ name, alias });
    } else if (t[0] === 'JoinExpr') {
      const isInner = inner && t[1].jointype === 'JOIN_INNER';
      walk(t[1].larg, isInner);
      walk(t[1].rarg, isInner);
      if (t[1].quals) { out.allQuals.push(t[1].quals); if (isInner) out.innerQuals.push(t[1].quals); }
    } else out.subqueries = true;
  };
  for (const f of from) walk(f, true);
  return out;
}

function conjuncts(v: unknown, out: unknown[] = []): unknown[] {
  const t = tag(v);
  if (t?.[0] === 'BoolExpr' && t[1].boolop === 'AND_EXPR') for (const a of list(t[1].args)) conjuncts(a, out);
  else if (t) out.push(v);
  return out;
}

/** [qualifier or null, column] of a column reference. */
function column(v: unknown): [string | null, string] | null {
  const t = tag(v);
  if (t?.[0] !== 'ColumnRef') return null;
  const f = list(t[1].fields).map((x) => tag(x));
  if (f.some((x) => x?.[0] !== 'String')) return null;
  const names = f.map((x) => String(x![1].sval));
  if (names.length === 1) return [null, names[0]!];
  if (names.length === 2) return [names[0]!, names[1]!];
  return null;
}

function equality(v: unknown): [unknown, unknown] | null {
  const t = tag(v);
  if (t?.[0] !== 'A_Expr' || t[1].kind !== 'AEXPR_OP') return null;
  const op = tag(list(t[1].name)[0]);
  return op?.[0] === 'String' && op[1].sval === '=' ? [t[1].lexpr, t[1].rexpr] : null;
}

/** Where a sharding key's value comes from: a literal in the text, or a bound parameter ($n). */
export type KeySource = { literal: string } | { param: number };

export interface Colocated { sharded: FromTable[]; colocated: boolean; key: { table: string; source: KeySource } | null }

/**
 * Whether the sharded tables of a FROM list are co-located by sharding-column equalities, and a key for them.
 * `source` reads a literal or parameter (the caller's rules).
 */
export function colocation(from: unknown[], where: unknown, scheme: ShardingScheme, source: (v: unknown) => KeySource | null): Colocated {
  const f = fromTables(from);
  const sharded = f.tables.filter((t) => scheme.tables.has(t.name));
  const byAlias = new Map(sharded.map((t) => [t.alias, t]));
  const parent = new Map(sharded.map((t) => [t.alias, t.alias]));
  const find = (a: string): string => { let x = a; while (parent.get(x) !== x) x = parent.get(x)!; return x; };
  /** The sharded table a column reference names by its sharding column, if it does. */
  const keyColumn = (v: unknown): FromTable | null => {
    const c = column(v);
    if (!c) return null;
    const [q, col] = c;
    if (q !== null) { const t = byAlias.get(q); return t && scheme.tables.get(t.name)!.column === col ? t : null; }
    const owners = sharded.filter((t) => scheme.tables.get(t.name)!.column === col);
    return owners.length === 1 ? owners[0]! : null;
  };
  const all = [...f.allQuals.flatMap((q) => conjuncts(q)), ...conjuncts(where)];
  for (const c of all) {
    const eq = equality(c);
    if (!eq) continue;
    const a = keyColumn(eq[0]);
    const b = keyColumn(eq[1]);
    if (a && b && scheme.tables.get(a.name)!.type === scheme.tables.get(b.name)!.type) parent.set(find(a.alias), find(b.alias));
  }
  const roots = new Set(sharded.map((t) => find(t.alias)));
  const colocated = sharded.length > 0 && roots.size === 1 && !f.subqueries;
  let key: Colocated['key'] = null;
  if (colocated) {
    for (const c of [...conjuncts(where), ...f.innerQuals.flatMap((q) => conjuncts(q))]) {
      const eq = equality(c);
      if (!eq) continue;
      for (const [k, v] of [[eq[0], eq[1]], [eq[1], eq[0]]] as const) {
        const t = keyColumn(k);
        const s = t ? source(v) : null;
        if (t && s) { key = { table: t.name, source: s }; break; }
      }
      if (key) break;
    }
  }
  return { sharded, colocated, key };
}
