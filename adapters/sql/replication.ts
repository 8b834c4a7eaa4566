// Physical replication slots and the replication state an instance reports.
import type pg from 'pg';

/** Creates the slot unless it exists; true when this call created it. */
export async function ensurePhysicalSlot(c: pg.Client, slot: string): Promise<boolean> {
  const r = await c.query(
    'SELECT pg_create_physical_replication_slot($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)',
    [slot],
  );
  return r.rowCount === 1;
}

/** Drops the slot once no walsender holds it; returns false while it is still active. */
export async function dropPhysicalSlot(c: pg.Client, slot: string): Promise<boolean> {
  const r = await c.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  if (!r.rowCount) return true;
  if (r.rows[0]?.active) return false;
  await c.query('SELECT pg_drop_replication_slot($1)', [slot]);
  return true;
}

export interface ReplicationState {
  inRecovery: boolean;
  currentLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  receiverStatus: string | null;
  timeline: number | null;
  lagBytes: number | null;
}

export async function readReplicationState(c: pg.Client): Promise<ReplicationState> {
  const r = await c.query<{
    recovery: boolean; current: string | null; receive: string | null; replay: string | null;
    receiver: string | null; tl: string | null; lag: string | null;
  }>(`
    SELECT pg_is_in_recovery() AS recovery,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current,
           pg_last_wal_receive_lsn()::text AS receive,
           pg_last_wal_replay_lsn()::text AS replay,
           (SELECT status FROM pg_stat_wal_receiver) AS receiver,
           CASE WHEN pg_is_in_recovery()
                THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))::text
                ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int::text END AS tl,
           CASE WHEN pg_is_in_recovery()
                THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text END AS lag`);
  const row = r.rows[0];
  if (!row) throw new Error('replication state query returned no row');
  return {
    inRecovery: row.recovery,
    currentLsn: row.current ?? row.replay,
    receiveLsn: row.receive,
    replayLsn: row.replay,
    receiverStatus: row.receiver,
    timeline: row.tl === null ? null : Number(row.tl),
    lagBytes: row.lag === null ? (row.recovery ? null : 0) : Math.max(0, Number(row.lag)),
  };
}
