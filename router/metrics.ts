// Router metrics on their own prom-client registry. Counters are bumped on message boundaries the session already
// looks at (ReadyForQuery, ErrorResponse), so counting costs no extra parsing on the hot path.
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { PoolEvents, PoolStats } from './pool/backend-pool.js';

/** How a statement was routed: one shard by key, one shard for want of a sharded table, all shards. */
export type RouteKind = 'fast_path' | 'unsharded' | 'scatter' | 'fanout';

export class RouterMetrics {
  readonly registry = new Registry();
  readonly queries: Counter;
  readonly transactions: Counter;
  readonly errors: Counter<'sqlstate'>;
  readonly clients: Gauge;
  readonly logins: Counter<'result'>;
  readonly routes: Counter<'route'>;
  readonly shardQueries: Counter<'shard'>;
  readonly buffered: Counter<'shard'>;
  readonly bufferTimeouts: Counter<'shard'>;
  readonly poolWait: Histogram<'shard'>;
  readonly multiShardFailures: Counter<'route'>;
  private readonly queriesFast: { n: number } = { n: 0 };
  private readonly transactionsFast: { n: number } = { n: 0 };
  /** Per-shard ReadyForQuery counts and route counts, plain numbers folded in at scrape time. */
  private readonly perShard = new Map<string, { n: number }>();
  private readonly perRoute = new Map<RouteKind, { n: number }>();

  constructor(poolStats: () => { role: string; database: string; shard: string; stats: PoolStats }[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'pgop_router_' });
    const fast = this.queriesFast;
    const tx = this.transactionsFast;
    const perShard = this.perShard;
    const perRoute = this.perRoute;
    // Hot counters are plain numbers folded in at scrape time: prom-client's inc() costs a label lookup per call.
    this.queries = new Counter({ name: 'pgop_router_queries_total', help: 'ReadyForQuery messages relayed (one per simple query or Sync)', registers: [this.registry],
      collect() { if (fast.n) { this.inc(fast.n); fast.n = 0; } } });
    this.transactions = new Counter({ name: 'pgop_router_transactions_total', help: 'backend hand-backs at ReadyForQuery idle (transactions pooled)', registers: [this.registry],
      collect() { if (tx.n) { this.inc(tx.n); tx.n = 0; } } });
    this.shardQueries = new Counter({ name: 'pgop_router_shard_queries_total', help: 'ReadyForQuery messages relayed from each shard (sharded mode)', labelNames: ['shard'], registers: [this.registry],
      collect() { for (const [shard, c] of perShard) if (c.n) { this.inc({ shard }, c.n); c.n = 0; } } });
    this.routes = new Counter({ name: 'pgop_router_routes_total', help: 'statements by route: fast_path (one shard by key), unsharded (default shard), scatter (read on every shard, merged), fanout (DDL and reference-table writes on every shard)',
      labelNames: ['route'], registers: [this.registry],
      collect() { for (const [route, c] of perRoute) if (c.n) { this.inc({ route }, c.n); c.n = 0; } } });
    this.errors = new Counter({ name: 'pgop_router_errors_total', help: 'ErrorResponse messages relayed, by SQLSTATE', labelNames: ['sqlstate'], registers: [this.registry] });
    this.multiShardFailures = new Counter({ name: 'pgop_router_multi_shard_failures_total', help: 'scatter or fan-out statements that failed on at least one shard', labelNames: ['route'], registers: [this.registry] });
    this.clients = new Gauge({ name: 'pgop_router_client_connections', help: 'client connections open', registers: [this.registry] });
    this.logins = new Counter({ name: 'pgop_router_logins_total', help: 'client logins by result', labelNames: ['result'], registers: [this.registry] });
    this.buffered = new Counter({ name: 'pgop_router_buffered_transactions_total', help: 'transactions held because their shard was unavailable (switchover, failover)', labelNames: ['shard'], registers: [this.registry] });
    this.bufferTimeouts = new Counter({ name: 'pgop_router_buffer_timeouts_total', help: 'held transactions refused after buffer.timeoutMs', labelNames: ['shard'], registers: [this.registry] });
    this.poolWait = new Histogram({ name: 'pgop_router_pool_wait_seconds', help: 'time a transaction waited for a backend connection (only waits that queued)', labelNames: ['shard'],
      buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10], registers: [this.registry] });
    const pools = new Gauge({ name: 'pgop_router_pool_connections', help: 'backend connections per pool and state', labelNames: ['role', 'database', 'shard', 'state'], registers: [this.registry],
      collect() {
        pools.reset();
        for (const p of poolStats()) {
          const l = { role: p.role, database: p.database, shard: p.shard };
          pools.set({ ...l, state: 'idle' }, p.stats.idle);
          pools.set({ ...l, state: 'in_use' }, p.stats.total - p.stats.idle);
          pools.set({ ...l, state: 'waiting_clients' }, p.stats.waiting);
          pools.set({ ...l, state: 'buffered_clients' }, p.stats.buffered);
        }
      } });
  }

  query(): void { this.queriesFast.n++; }
  transaction(): void { this.transactionsFast.n++; }

  /** The counter cell for one shard's queries, taken once per link so the relay bumps a plain number. */
  shardCell(shard: string): { n: number } {
    let c = this.perShard.get(shard);
    if (!c) this.perShard.set(shard, c = { n: 0 });
    return c;
  }

  route(kind: RouteKind): void {
    let c = this.perRoute.get(kind);
    if (!c) this.perRoute.set(kind, c = { n: 0 });
    c.n++;
  }

  poolEvents(shard: string): PoolEvents {
    return {
      buffered: () => this.buffered.inc({ shard }),
      bufferTimedOut: () => this.bufferTimeouts.inc({ shard }),
      waited: (ms) => { if (ms > 0) this.poolWait.observe({ shard }, ms / 1000); },
    };
  }
}
