// The agent inside a Kubernetes Pod: the same agent, with its spec read from the API (refreshed every few
// seconds) and the primary lease as the cluster's Lease object. It writes no Pod: the operator labels roles.
import { mkdirSync, readFileSync } from 'node:fs';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { PgbackrestServer } from './pgbackrest-server.js';
import { loadKubeConfig } from '../adapters/k8s/client.js';
import { K8sPrimaryLease } from '../adapters/lease/k8s-lease.js';
import { K8sTimelineHistories } from '../adapters/lease/timeline-histories.js';
import { createLogger } from '../adapters/logging/logger.js';
import { handOver, postgresUser } from '../adapters/os/os-user.js';
import { sleep } from '../adapters/local/processes.js';
import { KubernetesSpecSource, podIdentity, postgresLogFile, takeAgentToken } from './kubernetes-spec.js';
import { followLog } from './log-follower.js';
import { runAgent } from './agent.js';

const REFRESH_MS = Number(process.env.PGOP_SPEC_REFRESH_MS ?? 2000);

export async function runKubernetesAgent(): Promise<void> {
  const id = podIdentity();
  const agentToken = takeAgentToken();
  const log = createLogger('instance', { cluster: `${id.namespace}/${id.cluster}`, instance: id.pod, platform: 'kubernetes' });
  const kc = loadKubeConfig();
  const user = postgresUser();
  mkdirSync(id.runDir, { recursive: true, mode: 0o755 });
  handOver(id.runDir, user);
  const source = new KubernetesSpecSource(kc, id, user, agentToken);
  // The Secrets or the primary's address may not exist yet: wait for them, saying what is missing.
  let lastProblem = '';
  for (;;) {
    try { await source.refresh(); break; } catch (e) {
      const problem = (e as Error).message;
      if (problem !== lastProblem) log.warn({ err: problem }, 'instance spec not complete yet; retrying');
      lastProblem = problem;
      await sleep(REFRESH_MS);
    }
  }
  // The container log is where Kubernetes users look (kubectl logs, log shippers): postgres's lines go there too, as
  // JSON lines like the agent's own, with the file on the volume kept as it was.
  const pgLog = log.child({ source: 'postgres' });
  const stopFollowing = followLog(postgresLogFile(id), (line) => pgLog.info(line));
  // Peers back up through it (prefer-standby on a standby, ADR 0035); it follows the spec file the agent reads.
  const pgbackrestServer = new PgbackrestServer(() => JSON.parse(readFileSync(source.path, 'utf8')) as InstanceSpec, user, log);
  pgbackrestServer.start();
  process.on('exit', () => pgbackrestServer.stop());
  await runAgent(source.path, {
    lease: async (spec, cut) => new K8sPrimaryLease(kc, spec.cluster, cut),
    histories: (spec, cut) => new K8sTimelineHistories(kc, spec.cluster, cut),
    watchSpec: (reload) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        source.refresh().then((changed) => { if (changed) reload(); }, (e: unknown) => log.warn({ err: (e as Error).message }, 'spec refresh failed'))
          .finally(() => { busy = false; });
      }, REFRESH_MS);
      return () => clearInterval(timer);
    },
    // postgres's last lines (its shutdown) reach the container log before the agent exits.
    beforeExit: stopFollowing,
  });
}
