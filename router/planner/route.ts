// A plan plus the statement's parameters → the shard. Parameters arrive as the client sent them: text format
// strings, or binary int2/int4/int8 for integer keys.
import type { RoutePlan } from './shard-key.js';
import { keyspaceId } from '../vindex/hash-vindex.js';
import { binaryInteger } from './binary-integer.js';
import { keyspaceIdHex } from '../vindex/key-range.js';
import { shardForKeyspaceId, type RoutingTable } from '../routing/routing-table.js';

export type Route =
  | { kind: 'shard'; shard: string; keyspaceId: string; table: string; column: string; generation: number }
  | { kind: 'none'; reason: string; plan: RoutePlan['kind'] };

export function route(plan: RoutePlan, table: RoutingTable, params: readonly (string | Buffer | null)[] = []): Route {
  if (plan.kind !== 'keyed') return { kind: 'none', reason: plan.reason, plan: plan.kind };
  let value: string | bigint;
  if ('literal' in plan.source) value = plan.source.literal;
  else {
    const p = params[plan.source.param - 1];
    if (p === undefined) return { kind: 'none', reason: `parameter $${plan.source.param} is not bound`, plan: plan.kind };
    if (p === null) return { kind: 'none', reason: `parameter $${plan.source.param} is NULL`, plan: plan.kind };
    if (typeof p === 'string') value = p;
    else if (plan.key.type === 'integer') {
      const v = binaryInteger(p);
      if (v === null) return { kind: 'none', reason: `binary parameter $${plan.source.param} is not an integer`, plan: plan.kind };
      value = v;
    } else value = p.toString('utf8');
  }
  try {
    const id = keyspaceId(plan.key.type, value);
    // The hex form is for SHOW pgop.route only: made when read, not for every routed statement.
    return { kind: 'shard', shard: shardForKeyspaceId(table, id), get keyspaceId() { return keyspaceIdHex(id); }, table: plan.table, column: plan.key.column, generation: table.generation };
  } catch (e) {
    return { kind: 'none', reason: (e as Error).message, plan: plan.kind };
  }
}
