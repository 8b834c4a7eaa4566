// Rolling updates: whether a reloaded postgresql.conf holds a change that only a restart applies.
import type pg from 'pg';

export async function readPendingRestart(c: pg.ClientBase): Promise<boolean> {
  const r = await c.query<{ pending: boolean }>('SELECT coalesce(bool_or(pending_restart), false) AS pending FROM pg_settings');
  return r.rows[0]?.pending ?? false;
}

/** pg_reload_conf(), then wait until the postmaster has loaded the files (pg_conf_load_time moves), up to ~5 s. */
export async function reloadAndConfirm(c: pg.ClientBase): Promise<void> {
  const before = (await c.query<{ t: string }>('SELECT pg_conf_load_time()::text AS t')).rows[0]?.t ?? '';
  await c.query('SELECT pg_reload_conf()');
  for (let i = 0; i < 50; i++) {
    const now = (await c.query<{ t: string }>('SELECT pg_conf_load_time()::text AS t')).rows[0]?.t ?? '';
    if (now !== before) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
