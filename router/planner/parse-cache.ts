// Parsing costs ~17 µs a statement (ROUTER.md); applications repeat a few statement texts, so each distinct text is
// parsed once and its plan kept. A hit is one Map lookup: recency is a flag (the CLOCK / second-chance scheme), not
// a delete and re-insert per hit, which on a full Map also made V8 rehash it every few thousand hits.
import { loadModule, parseSync } from 'libpg-query';
import { planStatement, type RoutePlan } from './shard-key.js';
import type { ShardingScheme } from './sharding-scheme.js';

let loaded: Promise<void> | null = null;
/** The parser is WebAssembly: load it once before the first parse. */
export const loadParser = () => (loaded ??= loadModule());

interface Entry { plan: RoutePlan; used: boolean }

export class PlanCache {
  /** In insertion order; an entry used since it was last passed by eviction gets a second chance at the back. */
  private readonly plans = new Map<string, Entry>();
  hits = 0;
  misses = 0;

  constructor(private readonly scheme: ShardingScheme, private readonly capacity = 5000) {}

  plan(sql: string): RoutePlan {
    const cached = this.plans.get(sql);
    if (cached) {
      this.hits++;
      cached.used = true;
      return cached.plan;
    }
    this.misses++;
    let plan: RoutePlan;
    try { plan = planStatement(parseSync(sql) as { stmts?: unknown[] }, this.scheme); } catch (e) {
      plan = { kind: 'unsharded', reason: `does not parse (${(e as Error).message}); PostgreSQL will say why` };
    }
    this.plans.set(sql, { plan, used: false });
    if (this.plans.size > this.capacity) this.evictOne();
    return plan;
  }

  /** Drops the oldest entry not used since eviction last passed it; used ones move to the back, unmarked. */
  private evictOne(): void {
    for (const [sql, e] of this.plans) {
      this.plans.delete(sql);
      if (!e.used) return;
      e.used = false;
      this.plans.set(sql, e);
    }
  }

  get size(): number { return this.plans.size; }
}
