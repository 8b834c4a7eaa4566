// PgBouncer's own numbers as Prometheus metrics, read from its admin console (SHOW POOLS, SHOW STATS) at scrape
// time by the pooler pod's exporter. Names are stable: dashboards and alerts (chart/) refer to them.
import { Gauge, Registry } from 'prom-client';

export type AdminRun = (command: string) => Promise<Record<string, string>[]>;

const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));

export interface PoolerMetricsSource {
  pooler: string;
  /** Runs admin console commands; throws when PgBouncer does not answer. */
  admin<T>(fn: (run: AdminRun) => Promise<T>): Promise<T>;
  maxClientConnections(): number;
  paused(): boolean;
}

/** `collect` reads PgBouncer (one admin connection) and must finish before `registry.metrics()` is called. */
export function createPoolerMetrics(src: PoolerMetricsSource): { registry: Registry; collect(): Promise<void> } {
  const registry = new Registry();
  registry.setDefaultLabels({ pooler: src.pooler });
  const g = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: [registry] });
  const up = g('pgop_pooler_up', 'PgBouncer answers on its admin console (1) or not (0)');
  // prom-client reads the metrics of a registry concurrently, so one collect fills them all before the read; a
  // failure shows as up 0 with the pool series cleared.
  const collect = async () => {
    for (const m of [clActive, clWaiting, svActive, svIdle, maxWait, xacts, queries, waitTime]) m.reset();
    maxClients.set(src.maxClientConnections());
    paused.set(src.paused() ? 1 : 0);
    try {
      await src.admin(async (run) => {
        for (const r of await run('SHOW POOLS')) {
          const l = { database: r.database ?? '', user: r.user ?? '' };
          clActive.set(l, num(r.cl_active));
          clWaiting.set(l, num(r.cl_waiting));
          svActive.set(l, num(r.sv_active));
          svIdle.set(l, num(r.sv_idle));
          maxWait.set(l, num(r.maxwait) + num(r.maxwait_us) / 1e6);
        }
        for (const r of await run('SHOW STATS')) {
          const l = { database: r.database ?? '' };
          xacts.set(l, num(r.total_xact_count));
          queries.set(l, num(r.total_query_count));
          waitTime.set(l, num(r.total_wait_time) / 1e6);
        }
      });
      up.set(1);
    } catch {
      up.set(0);
    }
  };
  const paused = g('pgop_pooler_paused', 'PAUSE is in effect (1) or not (0), as this pod last set it');
  const maxClients = g('pgop_pooler_max_client_connections', 'max_client_conn of this PgBouncer');
  const clActive = g('pgop_pooler_client_active_connections', 'Client connections linked to a server connection or idle', ['database', 'user']);
  const clWaiting = g('pgop_pooler_client_waiting_connections', 'Client connections waiting for a server connection', ['database', 'user']);
  const svActive = g('pgop_pooler_server_active_connections', 'Server connections linked to a client', ['database', 'user']);
  const svIdle = g('pgop_pooler_server_idle_connections', 'Server connections idle and ready for a client', ['database', 'user']);
  const maxWait = g('pgop_pooler_max_wait_seconds', 'Age of the oldest waiting client', ['database', 'user']);
  const xacts = g('pgop_pooler_transactions_total', 'Transactions pooled since PgBouncer started', ['database']);
  const queries = g('pgop_pooler_queries_total', 'Queries pooled since PgBouncer started', ['database']);
  const waitTime = g('pgop_pooler_client_wait_seconds_total', 'Time clients spent waiting for a server since PgBouncer started', ['database']);

  return { registry, collect };
}
