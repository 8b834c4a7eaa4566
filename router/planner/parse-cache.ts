// Parsing costs ~17 µs a statement (ROUTER.md); applications repeat a few statement texts, so each distinct text is
// parsed once and its plan kept, least recently used evicted.
import { loadModule, parseSync } from 'libpg-query';
import { planStatement, type RoutePlan } from './shard-key.js';
import type { ShardingScheme } from './sharding-scheme.js';

let loaded: Promise<void> | null = null;
/** The parser is WebAssembly: load it once before the first parse. */
export const loadParser = () => (loaded ??= loadModule());

export class PlanCache {
  private readonly plans = new Map<string, RoutePlan>();
  hits = 0;
  misses = 0;

  constructor(private readonly scheme: ShardingScheme, private readonly capacity = 5000) {}

  plan(sql: string): RoutePlan {
    const cached = this.plans.get(sql);
    if (cached) {
      this.hits++;
      this.plans.delete(sql);
      this.plans.set(sql, cached);
      return cached;
    }
    this.misses++;
    let plan: RoutePlan;
    try { plan = planStatement(parseSync(sql) as { stmts?: unknown[] }, this.scheme); } catch (e) {
      plan = { kind: 'unsharded', reason: `does not parse (${(e as Error).message}); PostgreSQL will say why` };
    }
    this.plans.set(sql, plan);
    if (this.plans.size > this.capacity) this.plans.delete(this.plans.keys().next().value!);
    return plan;
  }

  get size(): number { return this.plans.size; }
}
