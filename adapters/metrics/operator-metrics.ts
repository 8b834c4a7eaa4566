// Operator metrics (prom-client): transitions of every machine, failover and switchover steps and durations.
import { Registry, Counter, Histogram, Gauge, collectDefaultMetrics } from 'prom-client';

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'pgop_operator_' });
  const transitions = new Counter({ name: 'pgop_machine_transitions_total', help: 'State transitions by machine', labelNames: ['machine', 'from', 'to'], registers: [registry] });
  const failovers = new Counter({ name: 'pgop_failovers_total', help: 'Finished failover and switchover plans by outcome', labelNames: ['kind', 'outcome'], registers: [registry] });
  const steps = new Counter({ name: 'pgop_failover_steps_total', help: 'Completed steps of failover and switchover plans', labelNames: ['plan', 'step'], registers: [registry] });
  const buckets = [0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60];
  const failoverSeconds = new Histogram({ name: 'pgop_failover_duration_seconds', help: 'Failover plan duration, from the lost primary being noticed to rerouted traffic', buckets, registers: [registry] });
  const switchoverSeconds = new Histogram({ name: 'pgop_switchover_duration_seconds', help: 'Switchover plan duration', buckets, registers: [registry] });
  const actors = new Gauge({ name: 'pgop_actors', help: 'Resource actors held by this operator', labelNames: ['kind'], registers: [registry] });
  const jobs = new Counter({ name: 'pgop_queue_jobs_total', help: 'Long-running step jobs finished, by step and outcome', labelNames: ['step', 'outcome'], registers: [registry] });
  const jobSeconds = new Histogram({ name: 'pgop_queue_job_duration_seconds', help: 'Duration of long-running step jobs', labelNames: ['step'], buckets: [1, 5, 15, 60, 300, 1800, 7200], registers: [registry] });
  const resourceState = new Gauge({ name: 'pgop_resource_state', help: 'Current state of each resource\'s root machine (1 on the current state)', labelNames: ['kind', 'resource', 'state'], registers: [registry] });
  const currentState = new Map<string, string>();
  const queueErrors = new Counter({ name: 'pgop_queue_errors_total', help: 'Errors raised by the steps queue, its event stream or its workers', labelNames: ['source'], registers: [registry] });
  const reconcileErrors = new Counter({ name: 'pgop_reconcile_errors_total', help: 'Errors while syncing resources or writing status', labelNames: ['kind'], registers: [registry] });
  const backups = createBackupMetrics(registry);
  return {
    registry,
    ...backups,
    transition: (machine: string, from: string, to: string) => transitions.inc({ machine, from, to }),
    step: (plan: string, step: string) => steps.inc({ plan, step }),
    planFinished: (kind: 'failover' | 'switchover', outcome: string, durationMs: number | undefined) => {
      failovers.inc({ kind, outcome });
      if (durationMs !== undefined) (kind === 'failover' ? failoverSeconds : switchoverSeconds).observe(durationMs / 1000);
    },
    actors: (kind: string, n: number) => actors.set({ kind }, n),
    reconcileError: (kind: string) => reconcileErrors.inc({ kind }),
    queueError: (source: string) => queueErrors.inc({ source }),
    resourceState: (kind: string, resource: string, state: string | null) => {
      const prev = currentState.get(`${kind}/${resource}`);
      if (prev === state) return;
      if (prev !== undefined) resourceState.remove({ kind, resource, state: prev });
      if (state === null) { currentState.delete(`${kind}/${resource}`); return; }
      currentState.set(`${kind}/${resource}`, state);
      resourceState.set({ kind, resource, state }, 1);
    },
    job: (step: string, outcome: string, ms: number) => { jobs.inc({ step, outcome }); jobSeconds.observe({ step }, ms / 1000); },
  };
}

/**
 * Backup and restore-rehearsal gauges per cluster, set from BackupJob and rehearsal snapshots (restored actors
 * set them again after an operator restart). Times are Unix seconds so alerts compare them with time().
 */
function createBackupMetrics(registry: Registry) {
  const labelNames = ['namespace', 'cluster'] as const;
  const g = (name: string, help: string) => new Gauge({ name, help, labelNames, registers: [registry] });
  const lastSuccess = g('pgop_backup_last_success_timestamp_seconds', 'When the newest successful backup of the cluster finished');
  const lastFailure = g('pgop_backup_last_failure_timestamp_seconds', 'When a BackupJob of the cluster last failed (as observed by the operator)');
  const duration = g('pgop_backup_last_duration_seconds', 'Duration of the newest successful backup');
  const size = g('pgop_backup_last_size_bytes', 'Database size copied by the newest successful backup');
  const repoSize = g('pgop_backup_last_repository_size_bytes', 'Bytes the newest successful backup occupies in the repository');
  const verified = g('pgop_restore_verification_success', 'Last restore rehearsal of the cluster: 1 verified, 0 failed');
  const verifiedAt = g('pgop_restore_verification_last_run_timestamp_seconds', 'When the last restore rehearsal finished');
  const verifiedSeconds = g('pgop_restore_verification_duration_seconds', 'Duration of the last restore rehearsal');
  const newest = new Map<string, number>();
  return {
    /** A BackupJob's finished backup; only the newest per cluster sets the "last" gauges. */
    backupSucceeded(b: { namespace: string; cluster: string; stoppedAt: string; durationSeconds: number; sizeBytes: number; repositorySizeBytes: number }) {
      const key = `${b.namespace}/${b.cluster}`;
      const at = Date.parse(b.stoppedAt) / 1000;
      if (Number.isNaN(at) || at < (newest.get(key) ?? 0)) return;
      newest.set(key, at);
      const l = { namespace: b.namespace, cluster: b.cluster };
      lastSuccess.set(l, at);
      duration.set(l, b.durationSeconds);
      size.set(l, b.sizeBytes);
      repoSize.set(l, b.repositorySizeBytes);
    },
    backupFailed(namespace: string, cluster: string, at: Date) { lastFailure.set({ namespace, cluster }, at.getTime() / 1000); },
    restoreVerified(r: { namespace: string; cluster: string; verified: boolean; finishedAt: string; durationSeconds: number | undefined }) {
      const l = { namespace: r.namespace, cluster: r.cluster };
      verified.set(l, r.verified ? 1 : 0);
      const at = Date.parse(r.finishedAt) / 1000;
      if (!Number.isNaN(at)) verifiedAt.set(l, at);
      if (r.durationSeconds !== undefined) verifiedSeconds.set(l, r.durationSeconds);
    },
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
