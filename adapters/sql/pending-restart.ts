// Rolling updates: whether a reloaded postgresql.conf holds a change that only a restart applies.
import type pg from 'pg';

export async function readPendingRestart(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ pending: boolean }>('SELECT coalesce(bool_or(pending_restart), false) AS pending FROM pg_settings');
  return r.rows[0]?.pending ?? false;
}
