import { compareLsn } from '../shared/lsn.js';
import type { Candidate } from '../failover/failover.types.js';

/** The switchover target: the requested replica if it is streaming, else the most advanced one. */
export function pickSwitchoverTarget(candidates: Candidate[], requested: string | null): { target: string | null; reason: string } {
  const usable = candidates.filter((c) => c.reachable && c.replayLsn !== null);
  if (requested) {
    const c = candidates.find((x) => x.name === requested);
    if (!c) return { target: null, reason: `${requested} is not a replica of this cluster` };
    if (!usable.includes(c)) return { target: null, reason: `${requested} is not a streaming replica right now` };
    return { target: requested, reason: `requested ${requested}` };
  }
  const best = [...usable].sort((a, b) => compareLsn(b.replayLsn ?? '0/0', a.replayLsn ?? '0/0') || a.name.localeCompare(b.name))[0];
  return best ? { target: best.name, reason: `most advanced replica ${best.name}` } : { target: null, reason: 'no streaming replica to switch over to' };
}
