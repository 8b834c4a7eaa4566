// The verifyRestore step where the worker cannot reach the repository volume (Kubernetes): an instance's agent runs
// the rehearsal (POST /verify, instance/verify-action.ts) next to the volume it mounts — a ready replica when there
// is one, so the primary does not pay for the copy and the replay, else the primary. The fingerprint recorded by the
// newest successful BackupJob of the cluster goes with the request; the agent uses it when that backup is the
// latest in the repository.
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import { STEP_KINDS } from '../../actors/queues/queue-names.js';
import type { PostgresClusterSpec, PostgresClusterStatus } from '../../crds/postgrescluster.js';
import type { BackupJob } from '../../crds/backupjob.js';
import type { VerifyRequest, VerifyResult } from '../../machines/restore-verify/restore-verify.types.js';
import type { AgentClient } from '../agent-client.js';
import { awaitRunningBackups } from './running-backups.js';

export interface AgentVerifyDeps {
  store: ResourceReader;
  agent(cluster: { namespace: string; name: string }, instance: string): Promise<AgentClient | null>;
}

/** A ready replica (least lag first), else the primary. */
export function rehearsalInstance(status: PostgresClusterStatus | undefined): string | null {
  const replica = (status?.instances ?? []).filter((i) => i.role === 'replica' && i.ready).sort((a, b) => (a.lagBytes ?? 0) - (b.lagBytes ?? 0))[0];
  return replica?.name ?? status?.currentPrimary ?? null;
}

export function verifyRestoreViaAgentProcessor(deps: AgentVerifyDeps): StepProcessor {
  return async (data, progress, signal) => {
    const req = data as unknown as VerifyRequest;
    if (!(await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster }))) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
    await awaitRunningBackups(deps.store, req.namespace, req.cluster,
      (jobs) => progress({ percent: 0, detail: `waiting for BackupJob ${jobs.join(', ')} to record its backup` } as never), signal);
    const cluster = await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster });
    if (!cluster) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
    if (!(cluster.spec as PostgresClusterSpec).backup) throw new PermanentError(`PostgresCluster ${req.cluster} has no spec.backup.repository`);
    const instance = rehearsalInstance(cluster.status as PostgresClusterStatus | undefined);
    if (!instance) throw new Error(`PostgresCluster ${req.cluster} has no instance yet`);
    const agent = await deps.agent({ namespace: req.namespace, name: req.cluster }, instance);
    if (!agent) throw new Error(`instance ${instance} has no address yet`);
    const jobs = ((await deps.store.list('BackupJob')) as BackupJob[])
      .filter((j) => (j.metadata.namespace ?? 'default') === req.namespace && j.spec.cluster.name === req.cluster && j.status?.phase === 'Succeeded' && j.status.backupId && j.status.fingerprint)
      .sort((a, b) => (a.status?.backupId ?? '').localeCompare(b.status?.backupId ?? ''));
    const newest = jobs.at(-1)?.status;
    await progress({ percent: null, detail: `restore rehearsal on ${instance}` } as never);
    return agent.post<VerifyResult>('verify', {
      startedAt: req.startedAt, fingerprint: newest?.backupId && newest.fingerprint ? { label: newest.backupId, value: newest.fingerprint } : null,
    }, STEP_KINDS.verifyRestore.timeoutMs);
  };
}
