// One unplanned-failover trial against any system: a client writes a numbered row every 10 ms through a stable
// read-write address; the primary is killed; we measure how long writes were unavailable and whether any
// acknowledged row is missing afterwards.
import { RowWriter, missingAcked, acksOnOldPrimaryAfterPromotion } from '../../adapters/sql/row-writer.js';

export interface System {
  name: string;
  /** libpq URI of the stable read-write address. */
  rwUri(): Promise<string>;
  primary(): Promise<string>;
  killPrimary(): Promise<string>;
  /** Freezes every process of the instance (SIGSTOP) for `ms`, then continues them; resolves at the thaw. */
  pause(instance: string, ms: number): Promise<void>;
  /** The PostgreSQL port of an instance: what inet_server_port() answers when it acknowledges a write. */
  portOf(instance: string): Promise<number>;
  /** Cuts the instance off from the consensus store (lease store / etcd); clients still reach it. */
  partition(instance: string): Promise<void>;
  heal(instance: string): Promise<void>;
  /** Waits until every instance is healthy again (the next trial starts from a full cluster). */
  waitHealthy(timeoutMs: number): Promise<void>;
  /** Where the time went in the last failover, as offsets from `faultAt` (pgop: status.failovers[].steps). */
  describeFailover?(faultAt: number): Promise<string | null>;
}

export interface TrialResult {
  unavailableMs: number; lost: number; acked: number; from: string; to: string;
  /** Writes the old primary acknowledged after the new one had acknowledged one: on the old timeline, after promotion. */
  oldTimelineAcks: number;
  /** The last failover's steps and the first acknowledgement by the new primary, as offsets from the fault. */
  breakdown?: string;
}

export async function failoverTrial(sys: System, table: string): Promise<TrialResult> {
  await sys.waitHealthy(300_000);
  const uri = await sys.rwUri();
  const writer = new RowWriter(() => uri, table);
  await writer.prepare();
  writer.start();
  await new Promise((r) => setTimeout(r, 1500));
  const from = await sys.primary();
  await sys.killPrimary();
  // The signal lands at the end of killPrimary; count from there until writes are acknowledged again.
  const killedAt = Date.now();
  const deadline = Date.now() + 180_000;
  while (!writer.ackTimes.some((t) => t > killedAt + 100) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const report = await writer.stop();
  const lost = (await missingAcked(uri, report.acked, table)).length;
  // Writes are acknowledged every ~10 ms while a primary serves them: the longest silence is the outage.
  return { unavailableMs: writer.ackTimes.some((t) => t > killedAt) ? report.longestGapMs : NaN, lost, acked: report.acked.length, from, to: await sys.primary(), oldTimelineAcks: 0 };
}

/**
 * The primary cannot be proven dead: frozen whole (`freeze`: every process SIGSTOPped for `faultMs`, then thawed) or
 * cut off from the consensus store (`partition`, healed once writes flow elsewhere or after `faultMs`, whichever is
 * later). Unavailability is the longest gap between acknowledged writes; the client keeps writing for 3 s after the
 * fault ends, so a thawed or healed old primary that still takes writes is counted (`oldTimelineAcks`).
 */
export async function stalledPrimaryTrial(sys: System, table: string, kind: 'freeze' | 'partition', faultMs: number): Promise<TrialResult> {
  await sys.waitHealthy(300_000);
  const uri = await sys.rwUri();
  const writer = new RowWriter(() => uri, table);
  await writer.prepare();
  writer.start();
  await new Promise((r) => setTimeout(r, 1500));
  const from = await sys.primary();
  const oldPort = await sys.portOf(from);
  const startedAt = Date.now();
  const resumedElsewhere = async (deadline: number) => {
    while (!writer.ackServers.some((p, i) => p !== oldPort && (writer.ackTimes[i] ?? 0) > startedAt) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    if (kind === 'freeze') {
      await sys.pause(from, faultMs);
    } else {
      await sys.partition(from);
      await Promise.all([resumedElsewhere(Date.now() + 120_000), new Promise((r) => setTimeout(r, faultMs))]);
      await sys.heal(from);
    }
    // Writes must come back (on a new primary, or on the old one after the fault), then a moment to catch late acks.
    const deadline = Date.now() + 180_000;
    while (!writer.ackTimes.some((t) => t > startedAt + 100) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    await writer.stop();
  }
  const report = writer.report();
  const lost = (await missingAcked(uri, report.acked, table)).length;
  const resumed = writer.ackTimes.some((t) => t > startedAt + 100);
  const firstNew = writer.ackServers.findIndex((p, i) => p !== oldPort && (writer.ackTimes[i] ?? 0) > startedAt);
  const steps = await sys.describeFailover?.(startedAt).catch(() => null);
  const breakdown = [steps, firstNew >= 0 ? `first ack on the new primary +${(((writer.ackTimes[firstNew] ?? 0) - startedAt) / 1000).toFixed(2)} s` : null].filter(Boolean).join(', ');
  return {
    ...(breakdown ? { breakdown } : {}),
    unavailableMs: resumed ? report.longestGapMs : NaN, lost, acked: report.acked.length, from, to: await sys.primary(),
    oldTimelineAcks: acksOnOldPrimaryAfterPromotion(writer, oldPort),
  };
}

/** A short pause of the primary (SIGSTOP/SIGCONT) must not cause a failover: 1 if the primary changed. */
export async function pauseTrial(sys: System, pauseMs: number): Promise<number> {
  await sys.waitHealthy(300_000);
  const before = await sys.primary();
  await sys.pause(before, pauseMs);
  await new Promise((r) => setTimeout(r, 8000));
  return (await sys.primary()) === before ? 0 : 1;
}
