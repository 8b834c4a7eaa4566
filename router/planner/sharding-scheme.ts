// Which tables are sharded and by which column (the hash vindex input). Checked at the door like any config.
import type { VindexColumnType } from '../vindex/hash-vindex.js';
import { RouterConfigError } from '../config.js';

export interface ShardedTable { column: string; type: VindexColumnType }
export interface ShardingScheme { tables: ReadonlyMap<string, ShardedTable>; referenceTables: ReadonlySet<string> }

const IDENT = /^[a-z_][a-z0-9_$]{0,62}$/;

export function buildShardingScheme(tables: Record<string, unknown>, field = 'sharding.tables', referenceTables: readonly string[] = []): ShardingScheme {
  const out = new Map<string, ShardedTable>();
  for (const [name, spec] of Object.entries(tables)) {
    if (!IDENT.test(name)) throw new RouterConfigError(`${field}: table "${name}" must be a lower-case unquoted identifier`);
    const s = spec as { column?: unknown; type?: unknown } | null;
    if (!s || typeof s.column !== 'string' || !IDENT.test(s.column)) throw new RouterConfigError(`${field}.${name}.column must be a lower-case unquoted column name`);
    if (s.type !== 'integer' && s.type !== 'text') throw new RouterConfigError(`${field}.${name}.type must be "integer" or "text"`);
    out.set(name, { column: s.column, type: s.type });
  }
  for (const t of referenceTables) {
    if (!IDENT.test(t)) throw new RouterConfigError(`sharding.referenceTables: "${t}" must be a lower-case unquoted identifier`);
    if (out.has(t)) throw new RouterConfigError(`sharding.referenceTables: "${t}" is also a sharded table; a table is one or the other`);
  }
  return { tables: out, referenceTables: new Set(referenceTables) };
}
