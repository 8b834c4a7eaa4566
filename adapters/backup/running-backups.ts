// A restore rehearsal rehearses the newest backup in the repository. A BackupJob that is still running may already
// have its backup there, and a Succeeded one may still be recording the table fingerprint the rehearsal compares
// against (condition Fingerprinted=Unknown): rehearsing then would compare nothing and still call the backup
// verified. So a rehearsal first waits for both to end (bounded: a stuck job must not stop rehearsals for good).
import type { ResourceReader } from '../../actors/ports/resource-store.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { FINGERPRINTED } from '../../machines/backup/backup.selectors.js';

export const RUNNING_BACKUP_WAIT_MS = 30 * 60_000;

/** A Succeeded job whose backup is saved while its fingerprint is still being recorded. */
const recordingFingerprint = (j: BackupJob) => j.status?.conditions?.some((c) => c.type === FINGERPRINTED && c.status === 'Unknown') ?? false;

/** Names of the cluster's BackupJobs that are taking a backup now, or still recording its fingerprint. */
export async function runningBackups(store: ResourceReader, namespace: string, cluster: string): Promise<string[]> {
  return ((await store.list('BackupJob')) as BackupJob[])
    .filter((j) => (j.metadata.namespace ?? 'default') === namespace && j.spec.cluster.name === cluster && (j.status?.phase === 'Running' || recordingFingerprint(j)))
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
