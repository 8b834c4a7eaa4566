// Polls a PostgresCluster until `ok` holds; on a timeout the error carries the status fields a failure is read from
// and the operator's log, so a CI failure explains itself.
import type { PostgresCluster } from '../../../crds/postgrescluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitForCluster(
  read: () => Promise<PostgresCluster | undefined>, what: string, ok: (c: PostgresCluster) => boolean,
  o: { timeoutMs: number; operatorLog: () => string; everyMs?: number },
): Promise<PostgresCluster> {
  const until = Date.now() + o.timeoutMs;
  let last: PostgresCluster | undefined;
  while (Date.now() < until) {
    last = await read();
    if (last && ok(last)) return last;
    await sleep(o.everyMs ?? 300);
  }
  const s = last?.status;
  const seen = { phase: s?.phase, reason: s?.phaseReason, primary: s?.currentPrimary, instances: s?.instances, pending: s?.pendingRestart, conditions: s?.conditions, failovers: s?.failovers };
  throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(seen)}\n${o.operatorLog()}`);
}
