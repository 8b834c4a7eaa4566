// Pure decisions of the failover plan: which replicas may be promoted, in which order, and whether enough of them
// answered to know that the best one holds every acknowledged commit.
import type { SynchronousSpec } from '../../crds/postgrescluster.js';
import { compareLsn, lsnDiff } from '../shared/lsn.js';
import type { Candidate } from './failover.types.js';

export interface Ranking { ranked: string[]; reason: string }

const position = (c: Candidate) => {
  const values = [c.receiveLsn, c.replayLsn].filter((v): v is string => v !== null);
  return values.sort((a, b) => compareLsn(b, a))[0] ?? null;
};

/**
 * With dataDurability: required, every acknowledged commit reached `number` of the listed standbys. Among any
 * `total - number + 1` of them at least one has it, so the plan must hear from that many before it can tell.
 */
export function quorumNeeded(sync: SynchronousSpec | null, total: number): number {
  if (!sync || sync.dataDurability !== 'required') return 1;
  return Math.max(1, total - sync.number + 1);
}

export function hasQuorum(sync: SynchronousSpec | null, candidates: Candidate[], total: number): boolean {
  return candidates.filter((c) => c.reachable && position(c) !== null).length >= quorumNeeded(sync, total);
}

export function rankCandidates(
  candidates: Candidate[],
  opts: { synchronous: SynchronousSpec | null; total: number; maxLagBytes: number | null; lastPrimaryLsn: string | null; exclude: string[] },
): Ranking {
  const answered = candidates.filter((c) => c.reachable && position(c) !== null);
  const needed = quorumNeeded(opts.synchronous, opts.total);
  if (answered.length < needed) {
    return {
      ranked: [],
      reason: `${answered.length} of ${opts.total} standbys answered; ${needed} are needed to know which one holds every acknowledged commit (dataDurability: required)`,
    };
  }
  // A newer timeline wins over a higher LSN on an older one: positions on different timelines do not compare.
  const sorted = [...answered].sort((a, b) => (b.timeline ?? 0) - (a.timeline ?? 0)
    || compareLsn(position(b) ?? '0/0', position(a) ?? '0/0') || a.name.localeCompare(b.name));
  const best = sorted[0] ? position(sorted[0]) : null;
  const bestTimeline = sorted[0]?.timeline ?? null;
  let eligible = sorted.filter((c) => !opts.exclude.includes(c.name));
  if (opts.synchronous?.dataDurability === 'required' && best) {
    // Only standbys as advanced as the best one are known to hold every acknowledged commit.
    eligible = eligible.filter((c) => c.timeline === bestTimeline && compareLsn(position(c) ?? '0/0', best) === 0);
  }
  if (opts.maxLagBytes !== null && opts.lastPrimaryLsn) {
    const limit = opts.maxLagBytes;
    const primaryLsn = opts.lastPrimaryLsn;
    eligible = eligible.filter((c) => lsnDiff(primaryLsn, position(c) ?? '0/0') <= limit);
  }
  if (!eligible.length) {
    const tried = opts.exclude.length ? ` (already tried: ${opts.exclude.join(', ')})` : '';
    return { ranked: [], reason: `no standby is safe to promote${tried}: none is both reachable and as advanced as required` };
  }
  return { ranked: eligible.map((c) => c.name), reason: `most advanced: ${eligible[0]?.name} at ${position(eligible[0] as Candidate)}` };
}
