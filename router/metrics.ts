// Router metrics on their own prom-client registry. Counters are bumped on message boundaries the session already
// looks at (ReadyForQuery, ErrorResponse), so counting costs no extra parsing on the hot path.
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';
import type { PoolStats } from './pool/backend-pool.js';

export class RouterMetrics {
  readonly registry = new Registry();
  readonly queries: Counter;
  readonly transactions: Counter;
  readonly errors: Counter<'sqlstate'>;
  readonly clients: Gauge;
  readonly logins: Counter<'result'>;
  private readonly queriesFast: { n: number } = { n: 0 };
  private readonly transactionsFast: { n: number } = { n: 0 };

  constructor(poolStats: () => { role: string; database: string; stats: PoolStats }[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'pgop_router_' });
    const fast = this.queriesFast;
    const tx = this.transactionsFast;
    // Hot counters are plain numbers folded in at scrape time: prom-client's inc() costs a label lookup per call.
    this.queries = new Counter({ name: 'pgop_router_queries_total', help: 'ReadyForQuery messages relayed (one per simple query or Sync)', registers: [this.registry],
      collect() { if (fast.n) { this.inc(fast.n); fast.n = 0; } } });
    this.transactions = new Counter({ name: 'pgop_router_transactions_total', help: 'backend hand-backs at ReadyForQuery idle (transactions pooled)', registers: [this.registry],
      collect() { if (tx.n) { this.inc(tx.n); tx.n = 0; } } });
    this.errors = new Counter({ name: 'pgop_router_errors_total', help: 'ErrorResponse messages relayed, by SQLSTATE', labelNames: ['sqlstate'], registers: [this.registry] });
    this.clients = new Gauge({ name: 'pgop_router_client_connections', help: 'client connections open', registers: [this.registry] });
    this.logins = new Counter({ name: 'pgop_router_logins_total', help: 'client logins by result', labelNames: ['result'], registers: [this.registry] });
    const pools = new Gauge({ name: 'pgop_router_pool_connections', help: 'backend connections per pool and state', labelNames: ['role', 'database', 'state'], registers: [this.registry],
      collect() {
        pools.reset();
        for (const p of poolStats()) {
          pools.set({ role: p.role, database: p.database, state: 'idle' }, p.stats.idle);
          pools.set({ role: p.role, database: p.database, state: 'in_use' }, p.stats.total - p.stats.idle);
          pools.set({ role: p.role, database: p.database, state: 'waiting_clients' }, p.stats.waiting);
        }
      } });
  }

  query(): void { this.queriesFast.n++; }
  transaction(): void { this.transactionsFast.n++; }
}
