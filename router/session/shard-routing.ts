// What a sharded session consults: the routing table, the plan cache and the shard for statements that name no
// sharded table (catalog queries, now(), unsharded tables live there). Also renders `SHOW pgop.route <stmt>`.
import pg from 'pg';
import type { RoutingTable } from '../routing/routing-table.js';
import type { PlanCache } from '../planner/parse-cache.js';
import type { RoutePlan } from '../planner/shard-key.js';
import { route, type Route } from '../planner/route.js';
import * as msg from '../protocol/backend-messages.js';

export interface ShardRouting { table: RoutingTable; plans: PlanCache; defaultShard: string }

export interface Decision { shard: string | null; route: Route; plan: RoutePlan }

export function decide(r: ShardRouting, sql: string, params: readonly (string | Buffer | null)[] = []): Decision {
  return decidePlan(r, r.plans.plan(sql), params);
}

/** The same, for a plan the caller already has (a session's memo of its recent statements). */
export function decidePlan(r: ShardRouting, plan: RoutePlan, params: readonly (string | Buffer | null)[] = []): Decision {
  const rt = route(plan, r.table, params);
  const shard = rt.kind === 'shard' ? rt.shard : plan.kind === 'unsharded' ? r.defaultShard : null;
  return { shard, route: rt, plan };
}

const SHOW_ROUTE = /^\s*show\s+pgop\.route\s+([\s\S]+?)\s*;?\s*$/i;
export const showRouteTarget = (sql: string): string | null => SHOW_ROUTE.exec(sql)?.[1] ?? null;

export const ROUTE_COLUMNS = ['shard', 'keyspace_id', 'table_name', 'column_name', 'generation', 'plan', 'reason'];

export function routeRow(r: ShardRouting | null, sql: string): (string | null)[] {
  if (!r) return ['', null, null, null, null, 'unsharded', 'the router has no sharding configured'];
  const d = decide(r, sql);
  if (d.route.kind === 'shard') {
    return [d.route.shard, d.route.keyspaceId, d.route.table, d.route.column, String(d.route.generation), 'single-shard', 'sharding key in the statement'];
  }
  return [d.shard, null, null, null, String(r.table.generation), d.plan.kind === 'keyed' ? 'single-shard' : d.plan.kind, d.route.reason];
}

/** The reply to SHOW pgop.route when the router answers by itself. */
export function showRouteReply(r: ShardRouting | null, sql: string): Buffer {
  return Buffer.concat([msg.rowDescription(ROUTE_COLUMNS), msg.dataRow(routeRow(r, sql)), msg.commandComplete('SHOW')]);
}

/** The same rows as a query for the linked backend, so the reply keeps its place among pipelined replies. */
export function showRouteQuery(r: ShardRouting | null, sql: string): string {
  const row = routeRow(r, sql);
  return `select ${row.map((v, i) => `${v === null ? 'null' : pg.escapeLiteral(v)}::text as ${ROUTE_COLUMNS[i]}`).join(', ')}`;
}

/** A statement that fails on the backend itself, so the backend's transaction state matches what the client sees. */
export function refusalQuery(message: string): string {
  return `DO $pgop$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = ${pg.escapeLiteral(message)}; END$pgop$`;
}
