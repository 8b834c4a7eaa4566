// A session's last few extended-protocol statements and their plans, found by comparing the Parse tail bytes.
// Clients repeat a handful of statements (pgbench -M extended re-sends the same unnamed Parse before every Bind);
// matching bytes skips decoding the text to a string and hashing it in the router-wide plan cache.
import type { PlanCache } from '../planner/parse-cache.js';
import type { RoutePlan } from '../planner/shard-key.js';
import { parseText } from '../protocol/extended-query.js';

const SLOTS = 8;

interface Slot { tail: Buffer; plan: RoutePlan }

export class PlanMemo {
  private readonly slots: Slot[] = [];
  private next = 0;
  /** The cache the memo's plans came from: a config reload brings a new one (new scheme), which empties the memo. */
  private cache: PlanCache | null = null;

  /** The plan for a Parse tail (query text, NUL, parameter types). */
  plan(cache: PlanCache, tail: Buffer): RoutePlan {
    if (cache !== this.cache) { this.cache = cache; this.slots.length = 0; this.next = 0; }
    for (const s of this.slots) if (s.tail.length === tail.length && s.tail.equals(tail)) return s.plan;
    const plan = cache.plan(parseText(tail));
    // A copy: the tail is a slice of a client chunk, which the memo would otherwise keep alive.
    const slot = { tail: Buffer.from(tail), plan };
    if (this.slots.length < SLOTS) this.slots.push(slot); else this.slots[this.next] = slot;
    this.next = (this.next + 1) % SLOTS;
    return plan;
  }
}
