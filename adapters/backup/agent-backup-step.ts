// The runBackup step where the worker cannot reach the data directories (Kubernetes): the primary's agent runs
// pgBackRest with its own config (POST /backup) and answers with the backup as `info` lists it. The BackupJob's
// uid annotates the backup, so a retried step gets the backup already taken instead of a second one.
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import { PermanentError } from '../../actors/ports/errors.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import { STEP_KINDS } from '../../actors/queues/queue-names.js';
import type { PostgresClusterSpec, PostgresClusterStatus } from '../../crds/postgrescluster.js';
import { stanzaName } from '../../crds/backup-repository.js';
import type { BackupRequest, BackupResult } from '../../machines/backup/backup.types.js';
import type { AgentClient } from '../agent-client.js';
import type { TableFingerprint } from '../../crds/backupjob.js';
import { backupResult, describeRepository, type InfoBackup } from './backup-step.js';

export interface AgentBackupDeps {
  store: ResourceReader;
  agent(cluster: { namespace: string; name: string }, instance: string): Promise<AgentClient | null>;
}

export function runBackupViaAgentProcessor(deps: AgentBackupDeps): StepProcessor {
  return async (data, progress) => {
    const req = data as unknown as BackupRequest;
    if (req.kind === 'restore') throw new PermanentError('a restore is a new cluster: use spec.bootstrap.recovery');
    const cluster = await deps.store.get({ kind: 'PostgresCluster', namespace: req.namespace, name: req.cluster });
    if (!cluster) throw new PermanentError(`PostgresCluster ${req.namespace}/${req.cluster} not found`);
    const spec = cluster.spec as PostgresClusterSpec;
    if (!spec.backup) throw new PermanentError(`PostgresCluster ${req.cluster} has no spec.backup.repository; add one to take backups`);
    const primary = (cluster.status as PostgresClusterStatus | undefined)?.currentPrimary;
    if (!primary) throw new Error(`PostgresCluster ${req.cluster} has no primary yet`);
    const agent = await deps.agent({ namespace: req.namespace, name: req.cluster }, primary);
    if (!agent) throw new Error(`the primary ${primary} has no address yet`);
    const startedAt = new Date().toISOString();
    // prefer-standby is not offered here yet: pgBackRest 2.45 backs up a standby only while it also reaches the
    // primary through its own remote protocol (SSH or its TLS server), which the Pods do not run (ADR 0030). The
    // primary's agent copies its own files, and status.instance says so.
    const where = req.target === 'prefer-standby' ? `${primary} (prefer-standby: standby backups are not available on Kubernetes yet)` : primary;
    await progress({ percent: null, detail: `pgbackrest ${req.backupType} backup on ${where}`, startedAt } as never);
    const r = await agent.post<{ backup: InfoBackup; expired: string[]; fingerprint: TableFingerprint }>('backup',
      { type: req.backupType, uid: req.uid, since: Math.floor((Date.parse(req.createdAt) || 0) / 1000) }, STEP_KINDS.runBackup.timeoutMs);
    const out: BackupResult = backupResult(r.backup, {
      instance: primary, stanza: stanzaName(req.namespace, req.cluster), repository: describeRepository(spec.backup.repository),
      expired: r.expired, fingerprint: r.fingerprint,
    });
    return out;
  };
}
