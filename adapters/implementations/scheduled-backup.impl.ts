// Fills the scheduledBackup machine's slots: the cron timer (croner and this process's clock: the only place a
// ScheduledBackup reads the time), a poll of the BackupJobs it owns, and their creation and deletion through the
// platform's store (admission and owner references as for any object).
import { fromCallback, fromPromise, type AnyEventObject } from 'xstate';
import type { scheduledBackupMachine } from '../../machines/scheduled-backup/scheduled-backup.machine.js';
import type { CreateJobInput, DeleteJobsInput, JobPhase, JobRecord, ScheduleOwner, TimerInput } from '../../machines/scheduled-backup/scheduled-backup.types.js';
import type { ResourceReader, ResourceWriter } from '../../actors/ports/resource-store.js';
import type { ChangeFeed } from '../../actors/binding.js';
import { API_VERSION, GROUP, type Resource } from '../../crds/definition.js';
import type { BackupJobSpec } from '../../crds/backupjob.js';
import { planSchedule } from '../scheduling/cron-plan.js';

export const SCHEDULED_AT = `${GROUP}/scheduled-at`;
export const SCHEDULE_LABEL = `${GROUP}/scheduled-backup`;
/** setTimeout's ceiling; a longer wait re-plans when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ScheduledBackupDeps {
  store: ResourceReader;
  objects: ResourceWriter;
  now?: () => Date;
  /** The runtime's change feed: owned BackupJobs are re-read when a BackupJob of the namespace changes. */
  changes?: ChangeFeed;
  /** How often they are re-read anyway (PGOP_SCHEDULE_POLL_MS): 30 s with a change feed (a safety net), else 2 s. */
  pollMs?: number;
}

const PHASES: readonly JobPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Deleting'];

export function jobRecord(r: Resource): JobRecord {
  const status = (r.status ?? {}) as { phase?: string; completedAt?: string };
  const phase = r.metadata.deletionTimestamp ? 'Deleting' : (PHASES.find((p) => p === status.phase) ?? 'Pending');
  return {
    name: r.metadata.name, phase,
    scheduledAt: r.metadata.annotations?.[SCHEDULED_AT] ?? r.metadata.creationTimestamp ?? '',
    completedAt: phase === 'Succeeded' || phase === 'Failed' ? status.completedAt ?? null : null,
  };
}

export async function ownedJobs(store: ResourceReader, owner: ScheduleOwner): Promise<JobRecord[]> {
  const all = await store.list('BackupJob');
  return all
    .filter((r) => (r.metadata.namespace ?? 'default') === owner.namespace && (r.metadata.ownerReferences ?? []).some((o) => o.kind === 'ScheduledBackup' && o.uid === owner.uid))
    .map(jobRecord)
    .sort((a, b) => a.scheduledAt.localeCompare(b.scheduledAt) || a.name.localeCompare(b.name));
}

export function createScheduledBackupImplementations(deps: ScheduledBackupDeps) {
  const now = deps.now ?? (() => new Date());
  const pollMs = deps.pollMs ?? Number(process.env.PGOP_SCHEDULE_POLL_MS ?? (deps.changes ? 30_000 : 2000));
  return {
    actors: {
      waitForSchedule: fromCallback<AnyEventObject, TimerInput>(({ input, sendBack }) => {
        let timer: NodeJS.Timeout | undefined;
        let since = new Date(input.since);
        let catchUp = input.catchUp;
        const plan = () => {
          const at = now();
          // Throws on a schedule the cron library refuses: the machine's error path names it.
          const p = planSchedule(input.schedule, since, at, catchUp);
          if (p.kind === 'due') {
            sendBack({ type: 'schedule.due', scheduledAt: p.scheduledAt.toISOString(), missed: p.missed, next: p.next?.toISOString() ?? null });
            return;
          }
          sendBack({ type: 'schedule.planned', at: at.toISOString(), next: p.next?.toISOString() ?? null });
          if (!p.next) return;
          since = at;
          catchUp = true;
          // The schedule parsed above, so a later plan of the same schedule cannot throw.
          timer = setTimeout(plan, Math.min(MAX_TIMER_MS, Math.max(0, p.next.getTime() - at.getTime())));
        };
        plan();
        return () => clearTimeout(timer);
      }),
      watchJobs: fromCallback<AnyEventObject, ScheduleOwner>(({ input, sendBack }) => {
        let last = '';
        let busy = false;
        let again = false;
        let stopped = false;
        const poll = () => {
          // A change during a read is read again after it, never dropped.
          if (busy) { again = true; return; }
          busy = true;
          again = false;
          ownedJobs(deps.store, input)
            .then((jobs) => { const seen = JSON.stringify(jobs); if (seen !== last && !stopped) { last = seen; sendBack({ type: 'jobs.observed', jobs }); } })
            .catch(() => undefined) // a failed read is retried at the next change or poll; decisions re-read the store anyway
            .finally(() => { busy = false; if (again && !stopped) poll(); });
        };
        poll();
        const unsubscribe = deps.changes?.((key) => { if (key.kind === 'BackupJob' && key.namespace === input.namespace) poll(); });
        const timer = setInterval(poll, pollMs);
        return () => { stopped = true; clearInterval(timer); unsubscribe?.(); };
      }),
      listJobs: fromPromise<JobRecord[], ScheduleOwner>(({ input }) => ownedJobs(deps.store, input)),
      createBackupJob: fromPromise<void, CreateJobInput>(async ({ input }) => {
        const spec: Partial<BackupJobSpec> = { cluster: { name: input.cluster }, backupType: input.backupType, target: input.target };
        await deps.objects.create({
          apiVersion: API_VERSION, kind: 'BackupJob',
          metadata: {
            name: input.jobName, namespace: input.owner.namespace,
            labels: { [SCHEDULE_LABEL]: input.owner.name }, annotations: { [SCHEDULED_AT]: input.scheduledAt },
          },
          spec,
        }, { apiVersion: API_VERSION, kind: 'ScheduledBackup', name: input.owner.name, uid: input.owner.uid, controller: true, blockOwnerDeletion: true });
      }),
      deleteBackupJobs: fromPromise<void, DeleteJobsInput>(async ({ input }) => {
        for (const name of input.names) await deps.objects.remove({ kind: 'BackupJob', namespace: input.owner.namespace, name });
      }),
      waitToRetry: fromCallback<AnyEventObject, { delayMs: number }>(({ input, sendBack }) => {
        const timer = setTimeout(() => sendBack({ type: 'retry.due' }), input.delayMs);
        return () => clearTimeout(timer);
      }),
    },
  } satisfies Parameters<typeof scheduledBackupMachine.provide>[0];
}
