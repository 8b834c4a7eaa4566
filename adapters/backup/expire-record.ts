// Retention's removals, recorded in the repository itself so a retried backup step reports the same list. The
// expire runs after the backup; what it removed is the difference between the repository's backups before and
// after it. A retry (BullMQ after a transient error, or after the operator died) sees the repository only after the
// first attempt's expire, so that difference is empty: both lists are therefore kept as pgBackRest annotations of
// the job's own backup — the labels present before the backup, given to the backup command itself (pgBackRest's
// backup runs its own expire pass at the end, so "before expire" must mean before the backup), then the removed
// ones (a retry that finds these just returns them; one that finds only the first runs expire again, which is
// idempotent, and subtracts).
import type { InfoBackup } from './info-backup.js';

/** Labels present right before this backup (and so before its expire passes). */
export const BEFORE_EXPIRE = 'pgop-before-expire';
/** Labels that expire removed. */
export const EXPIRED = 'pgop-expired';

// pgBackRest drops an annotation whose value is empty, so "none" needs a value of its own.
const encode = (labels: string[]) => labels.length ? labels.join(',') : '-';
const decode = (v: string) => v === '-' || v === '' ? [] : v.split(',');

export interface ExpireTools {
  /** Runs pgbackrest with the stanza's config; resolves with stdout. */
  tool(args: string[]): Promise<string>;
  /** The repository's backups, oldest first. */
  list(): Promise<InfoBackup[]>;
}

/** The backup command's option recording the repository's labels before it (what its expire may remove). */
export const beforeBackupAnnotation = (labels: string[]) => `--annotation=${BEFORE_EXPIRE}=${encode(labels)}`;

/** Runs retention once for the backup `own` (as `info --set` lists it, annotations included); returns what it removed. */
export async function expireRecorded(t: ExpireTools, own: InfoBackup): Promise<string[]> {
  const recorded = own.annotation?.[EXPIRED];
  if (recorded !== undefined) return decode(recorded);
  const noted = own.annotation?.[BEFORE_EXPIRE];
  let before: string[];
  if (noted !== undefined) before = decode(noted);
  else {
    before = (await t.list()).map((b) => b.label);
    await t.tool(['annotate', `--set=${own.label}`, `--annotation=${BEFORE_EXPIRE}=${encode(before)}`]);
  }
  await t.tool(['expire']);
  const kept = new Set((await t.list()).map((b) => b.label));
  const expired = before.filter((l) => !kept.has(l));
  await t.tool(['annotate', `--set=${own.label}`, `--annotation=${EXPIRED}=${encode(expired)}`]);
  return expired;
}
