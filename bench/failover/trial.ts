// One unplanned-failover trial against any system: a client writes a numbered row every 10 ms through a stable
// read-write address; the primary is killed; we measure how long writes were unavailable and whether any
// acknowledged row is missing afterwards.
import { RowWriter, missingAcked } from '../../adapters/sql/row-writer.js';

export interface System {
  name: string;
  /** libpq URI of the stable read-write address. */
  rwUri(): Promise<string>;
  primary(): Promise<string>;
  killPrimary(): Promise<string>;
  pause(instance: string, ms: number): Promise<void>;
  /** Waits until every instance is healthy again (the next trial starts from a full cluster). */
  waitHealthy(timeoutMs: number): Promise<void>;
}

export interface TrialResult { unavailableMs: number; lost: number; acked: number; from: string; to: string }

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
  return { unavailableMs: writer.ackTimes.some((t) => t > killedAt) ? report.longestGapMs : NaN, lost, acked: report.acked.length, from, to: await sys.primary() };
}

/** A short pause of the primary (SIGSTOP/SIGCONT) must not cause a failover: 1 if the primary changed. */
export async function pauseTrial(sys: System, pauseMs: number): Promise<number> {
  await sys.waitHealthy(300_000);
  const before = await sys.primary();
  await sys.pause(before, pauseMs);
  await new Promise((r) => setTimeout(r, 8000));
  return (await sys.primary()) === before ? 0 : 1;
}
