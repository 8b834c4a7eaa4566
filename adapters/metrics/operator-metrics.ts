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
  return {
    registry,
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

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
