// A restore rehearsal rehearses the newest backup in the repository. A BackupJob that is still running may already
// have its backup there while it records the table fingerprint the rehearsal compares against: rehearsing then
// would compare nothing and still call the backup verified. So a rehearsal first waits for the cluster's running
// BackupJobs to end (bounded: a stuck job must not stop rehearsals for good).
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { BackupJob } from '../../crds/backupjob.js';

export const RUNNING_BACKUP_WAIT_MS = 30 * 60_000;

/** Names of the cluster's BackupJobs that are taking a backup now. */
export async function runningBackups(store: ResourceReader, namespace: string, cluster: string): Promise<string[]> {
  return ((await store.list('BackupJob')) as BackupJob[])
    .filter((j) => (j.metadata.namespace ?? 'default') === namespace && j.spec.cluster.name === cluster && j.status?.phase === 'Running')
    .map((j) => j.metadata.name);
}

/** Waits until none of the cluster's BackupJobs is running, or `maxMs` passed; says what it waits for once. */
export async function awaitRunningBackups(store: ResourceReader, namespace: string, cluster: string, report: (jobs: string[]) => Promise<void>,
  signal?: AbortSignal, maxMs = RUNNING_BACKUP_WAIT_MS, pollMs = 1000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let reported = false;
  for (let running = await runningBackups(store, namespace, cluster); running.length && Date.now() < deadline; running = await runningBackups(store, namespace, cluster)) {
    if (signal?.aborted) return;
    if (!reported) { reported = true; await report(running); }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
