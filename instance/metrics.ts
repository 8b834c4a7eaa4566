import { X509Certificate } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';
import type { AgentStatus } from './status.js';

/** Agent metrics; gauges are refreshed from the status just before each scrape. */
export function createAgentMetrics(labels: { cluster: string; instance: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'pgop_agent_' });
  const up = new Gauge({ name: 'pgop_instance_up', help: 'PostgreSQL accepts connections (1) or not (0)', registers: [registry] });
  const ready = new Gauge({ name: 'pgop_instance_ready', help: 'Instance ready: primary accepting writes or replica streaming', registers: [registry] });
  const role = new Gauge({ name: 'pgop_instance_role', help: 'Current role (1 for the active role label)', labelNames: ['role'], registers: [registry] });
  const lag = new Gauge({ name: 'pgop_instance_lag_bytes', help: 'Replica: bytes received but not yet replayed', registers: [registry] });
  const timeline = new Gauge({ name: 'pgop_instance_timeline', help: 'Current timeline', registers: [registry] });
  const restarts = new Gauge({ name: 'pgop_instance_postgres_restarts', help: 'Times the supervisor restarted postgres after an exit', registers: [registry] });
  const scrapes = new Counter({ name: 'pgop_instance_status_checks_total', help: 'Status checks served', registers: [registry] });
  const fencings = new Counter({ name: 'pgop_instance_fencing_events_total', help: 'Times this agent fenced itself (stopped accepting writes)', registers: [registry] });
  const renewals = new Counter({ name: 'pgop_instance_lease_renewals_total', help: 'Primary lease renewals attempted', labelNames: ['result'], registers: [registry] });
  const certExpiry = new Gauge({ name: 'pgop_instance_certificate_expiry_timestamp_seconds', help: 'When the server certificate this instance serves expires (Unix time)', registers: [registry] });
  const roleChanges = new Counter({ name: 'pgop_instance_role_changes_total', help: 'Agent state changes by role', labelNames: ['role'], registers: [registry] });
  const pending = new Gauge({ name: 'pgop_instance_archive_pending_segments', help: 'Primary with a backup repository: WAL segments waiting for archive_command (.ready files in pg_wal/archive_status)', registers: [registry] });
  const archiveFailing = new Gauge({ name: 'pgop_instance_archive_failing', help: 'Primary: 1 while the newest archive attempt failed (pg_stat_archiver), else 0', registers: [registry] });
  const lastArchived = new Gauge({ name: 'pgop_instance_archive_last_archived_timestamp_seconds', help: 'Primary: when the last segment was archived (pg_stat_archiver)', registers: [registry] });
  const archiveFailures = new Gauge({ name: 'pgop_instance_archive_failed_count', help: 'Primary: failed archive attempts since the statistics were reset (pg_stat_archiver.failed_count)', registers: [registry] });
  return {
    registry,
    /** Archiving of a primary with a repository; `dataDir` to count the segments not yet archived. */
    updateArchive(s: AgentStatus, dataDir: string | null) {
      const a = s.role === 'primary' ? s.archiver : null;
      if (!a || !dataDir) {
        for (const g of [pending, archiveFailing, lastArchived, archiveFailures]) g.reset();
        return;
      }
      pending.set(countReady(dataDir));
      archiveFailing.set(a.lastFailedAt && (!a.lastArchivedAt || a.lastFailedAt > a.lastArchivedAt) ? 1 : 0);
      archiveFailures.set(a.failedCount);
      if (a.lastArchivedAt) lastArchived.set(Date.parse(a.lastArchivedAt) / 1000);
    },
    fenced: () => fencings.inc(),
    renewal: (ok: boolean) => renewals.inc({ result: ok ? 'ok' : 'failed' }),
    transition: (role: string) => roleChanges.inc({ role }),
    /** The PEM postgres serves (read at scrape time: a rotation shows at once); unreadable leaves no sample. */
    certificate(pem: string | null) {
      if (pem === null) { certExpiry.reset(); return; }
      try { certExpiry.set(Date.parse(new X509Certificate(pem).validTo) / 1000); } catch { certExpiry.reset(); }
    },
    update(s: AgentStatus) {
      scrapes.inc();
      up.set(s.role === 'unknown' ? 0 : 1);
      ready.set(s.ready ? 1 : 0);
      for (const r of ['primary', 'replica', 'unknown']) role.set({ role: r }, s.role === r ? 1 : 0);
      lag.set(s.lagBytes ?? 0);
      if (s.timeline !== null) timeline.set(s.timeline);
      restarts.set(s.restarts);
    },
  };
}

/** Segments (and history files) postgres has handed to archive_command but not yet seen archived. */
function countReady(dataDir: string): number {
  try { return readdirSync(join(dataDir, 'pg_wal', 'archive_status')).filter((f) => f.endsWith('.ready')).length; } catch { return 0; }
}
