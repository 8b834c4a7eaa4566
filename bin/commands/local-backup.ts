// `pgop local backup CLUSTER`: create a BackupJob and optionally follow it to its end; `pgop local backups
// CLUSTER`: what the cluster's repository holds (pgbackrest info).
import type { Platform } from '../../adapters/local/control.js';
import type { BackupJob } from '../../crds/backupjob.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { stanzaName } from '../../crds/backup-repository.js';
import { API_VERSION } from '../../crds/definition.js';
import { localRepoAccess } from '../../adapters/local/backup-hosts.js';
import { stanzaInfo } from '../../adapters/backup/repository-info.js';
import { postgresUser } from '../../adapters/os/os-user.js';
import { FINGERPRINTED, humanBytes } from '../../machines/backup/backup.selectors.js';
import { table } from './format.js';

export interface BackupOptions { cluster: string; namespace: string; type: 'full' | 'diff' | 'incr'; target: 'prefer-standby' | 'primary'; wait: boolean; timeoutMs: number }

const stamp = (d: Date) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14);

export async function backup(p: Platform, o: BackupOptions, out: (s: string) => void): Promise<void> {
  const cluster = (await p.store.get({ kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster })) as PostgresCluster | undefined;
  if (!cluster) throw new Error(`postgrescluster "${o.cluster}" not found in namespace ${o.namespace}`);
  if (!cluster.spec.backup) throw new Error(`postgrescluster "${o.cluster}" has no spec.backup.repository; add one (posix: { path } or s3: {...}) and apply it`);
  const name = `${o.cluster}-${stamp(new Date())}`.slice(0, 63);
  const { resource } = await p.store.apply({
    apiVersion: API_VERSION, kind: 'BackupJob', metadata: { name, namespace: o.namespace },
    spec: { cluster: { name: o.cluster }, backupType: o.type, target: o.target },
  });
  out(`backupjob/${resource.metadata.name} created`);
  if (!o.wait) return;
  const key = { kind: 'BackupJob', namespace: o.namespace, name };
  const started = Date.now();
  let last = '';
  for (;;) {
    const job = (await p.store.get(key)) as BackupJob | undefined;
    const s = job?.status;
    const pct = s?.percent !== undefined ? ` ${s.percent.toFixed(0)}%` : '';
    const bytes = s?.bytesDone !== undefined && s.bytesTotal ? ` (${humanBytes(s.bytesDone)} of ${humanBytes(s.bytesTotal)})` : '';
    const line = `${s?.phase ?? 'Pending'}${s?.phase === 'Running' ? `${pct}${bytes}` : ''}`;
    if (line !== last) { out(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`); last = line; }
    if (s?.phase === 'Succeeded') {
      out(`backup ${s.backupId} (${s.size}, ${s.duration ?? '?'}) from ${s.instance}: LSN ${s.startLsn} → ${s.stopLsn}, WAL ${s.walStart} → ${s.walEnd}, timeline ${s.timeline}`);
      if (s.expired?.length) out(`retention expired: ${s.expired.join(', ')}`);
      const fingerprinted = s.conditions?.find((c) => c.type === FINGERPRINTED);
      if (fingerprinted?.status === 'Unknown') out('table fingerprint for restore rehearsals: being recorded (see status.fingerprint)');
      else if (fingerprinted?.status === 'False') out(`table fingerprint not recorded: ${fingerprinted.message}`);
      return;
    }
    if (s?.phase === 'Failed') throw new Error(`backup ${name} failed: ${s.message ?? 'no reason recorded'}`);
    if (Date.now() - started > o.timeoutMs) throw new Error(`backup ${name} did not finish within ${Math.round(o.timeoutMs / 1000)} s (phase ${s?.phase ?? 'Pending'})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function listBackups(p: Platform, o: { cluster: string; namespace: string; output: string }, out: (s: string) => void): Promise<void> {
  const cluster = (await p.store.get({ kind: 'PostgresCluster', namespace: o.namespace, name: o.cluster })) as PostgresCluster | undefined;
  if (!cluster) throw new Error(`postgrescluster "${o.cluster}" not found in namespace ${o.namespace}`);
  const repo = cluster.spec.backup?.repository;
  if (!repo) throw new Error(`postgrescluster "${o.cluster}" has no spec.backup.repository`);
  const user = postgresUser();
  const info = await stanzaInfo(stanzaName(o.namespace, o.cluster), { repository: repo, ...localRepoAccess(p.state.root, o.namespace, repo) }, user);
  if (o.output === 'json') { out(JSON.stringify(info, null, 2)); return; }
  if (!info.backups.length) { out(`No backups in the repository of ${o.cluster} (${info.status}).`); return; }
  out(table(['LABEL', 'TYPE', 'TIME', 'SIZE', 'LSN RANGE'], info.backups.map((b) => [
    b.label, b.type, b.stoppedAt.replace('.000Z', 'Z'), humanBytes(b.sizeBytes), `${b.startLsn} - ${b.stopLsn}`,
  ])));
  out(`WAL archive: ${info.walMin ?? '-'} → ${info.walMax ?? '-'}`);
}
