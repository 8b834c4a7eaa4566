// pg_stat_archiver as the agent reports it: the last archived and the last failed segment with their times, and
// the archive_mode postgres runs with.
import type pg from 'pg';
import type { ArchiverObservation } from '../../machines/shared/observation.js';

/** archive_command without a repository: archive_mode stays on (ADR 0044) and segments are discarded. */
export const DISCARD_ARCHIVE_COMMAND = 'true';

/** Null while postgres still runs the discarding command: its "archived" segments reached no repository. */
export async function readArchiver(c: pg.Client): Promise<ArchiverObservation | null> {
  const r = await c.query<{ failed: string; lfw: string | null; lft: string | null; law: string | null; lat: string | null; mode: string; cmd: string }>(
    `SELECT current_setting('archive_mode') AS mode, current_setting('archive_command') AS cmd, failed_count AS failed, last_failed_wal AS lfw, to_char(last_failed_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS lft,
            last_archived_wal AS law, to_char(last_archived_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS lat
       FROM pg_stat_archiver`);
  const row = r.rows[0];
  if (row?.mode !== 'off' && row?.cmd === DISCARD_ARCHIVE_COMMAND) return null;
  return {
    failedCount: Number(row?.failed ?? 0), lastFailedWal: row?.lfw ?? null, lastFailedAt: row?.lft ?? null,
    lastArchivedWal: row?.law ?? null, lastArchivedAt: row?.lat ?? null, ...(row?.mode ? { archiveMode: row.mode } : {}),
  };
}
