// `kubectl pgop status CLUSTER`: one screen with the cluster, its instances (role, readiness, timeline, lag), the
// last failovers and switchovers, its backups and its server certificate. Pure rendering of what was read.
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import { table, age } from './format.js';
import type { OwnedObject } from './kube-client.js';

export interface StatusInput {
  cluster: PostgresCluster;
  backups: OwnedObject[];
  certificate: { subject: string; notAfter: string; names: string } | null;
  poolers: OwnedObject[];
}

const mb = (bytes: number | undefined) => (bytes === undefined ? '' : bytes < 1024 * 1024 ? `${bytes} B` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`);

export function renderStatus(s: StatusInput, now = new Date()): string {
  const c = s.cluster;
  const st = c.status ?? {};
  const lines: string[] = [];
  lines.push(`Cluster:   ${c.metadata.namespace ?? 'default'}/${c.metadata.name}`);
  lines.push(`Phase:     ${st.phase ?? 'Pending'}${st.phaseReason ? ` (${st.phaseReason})` : ''}`);
  lines.push(`Primary:   ${st.currentPrimary ?? '-'}`);
  lines.push(`Timeline:  ${st.timeline ?? '-'}`);
  lines.push(`Ready:     ${st.readyInstances ?? 0}/${c.spec.instances}`);
  const storage = (st as { storage?: { size: string; volumes: number; resized: number; message?: string } }).storage;
  if (storage) lines.push(`Storage:   ${storage.resized}/${storage.volumes} volume(s) at ${storage.size}${storage.message ? ` (${storage.message})` : ''}`);
  if (st.shardsReady) lines.push(`Shards:    ${st.shardsReady} ready (${(st.shards ?? []).map((x) => `${x.name} ${x.cluster} ${x.phase}`).join(', ')})`);
  // A sharded cluster is reached through its router: where, how it is verified, and whether it serves.
  if (st.router) lines.push(`Router:    ${st.router.endpoint}, ${st.router.readyReplicas}/${st.router.replicas} ready, routing generation ${st.router.generation ?? '-'} (CA: Secret ${st.router.caSecret})`);
  const annotations = c.metadata.annotations ?? {};
  if (annotations['postgres.keiailab.io/fenced-instances']) lines.push(`Fenced:    ${annotations['postgres.keiailab.io/fenced-instances']}`);
  if (annotations['postgres.keiailab.io/hibernation']) lines.push(`Hibernation: ${annotations['postgres.keiailab.io/hibernation']}`);
  lines.push('', 'Instances:');
  lines.push(table(['NAME', 'ROLE', 'READY', 'PHASE', 'TIMELINE', 'LSN', 'LAG'], (st.instances ?? []).map((i) => [
    i.name, i.role, i.ready ? 'true' : 'false', i.phase, i.timeline === undefined ? '' : String(i.timeline),
    i.currentLsn ?? i.replayLsn ?? '', i.role === 'primary' ? '' : mb(i.lagBytes),
  ])));
  const failovers = (st.failovers ?? []).slice(-5);
  lines.push('', 'Last failovers and switchovers:');
  lines.push(failovers.length ? table(['KIND', 'OUTCOME', 'FROM', 'TO', 'TIMELINE', 'DURATION', 'AGE'], failovers.map((f) => [
    f.kind, f.outcome, f.from, f.to ?? '', f.timeline === undefined ? '' : String(f.timeline), f.durationMs === undefined ? '' : `${f.durationMs} ms`, age(f.finishedAt ?? f.startedAt, now),
  ])) : '  none');
  lines.push('', 'Backups:');
  lines.push(s.backups.length ? table(['NAME', 'PHASE', 'AGE'], s.backups.map((b) => [b.metadata.name, String(b.status?.phase ?? 'Pending'), age(b.metadata.creationTimestamp, now)])) : '  none');
  if (s.poolers.length) {
    lines.push('', 'Poolers:');
    lines.push(table(['NAME', 'TYPE', 'READY', 'PHASE', 'TARGET'], s.poolers.map((p) => [
      p.metadata.name, String(p.spec?.type ?? 'rw'), `${String(p.status?.readyInstances ?? 0)}/${String(p.spec?.instances ?? 1)}`, String(p.status?.phase ?? 'Pending'), String(p.status?.target ?? ''),
    ])));
  }
  lines.push('', 'Certificate:');
  if (s.certificate) {
    const left = Math.floor((Date.parse(s.certificate.notAfter) - now.getTime()) / 86_400_000);
    lines.push(`  ${s.certificate.subject}, expires ${new Date(s.certificate.notAfter).toISOString()} (in ${left} days)`);
    lines.push(`  names: ${s.certificate.names}`);
  } else lines.push('  not readable (no server certificate Secret, or no permission to read it)');
  return lines.join('\n');
}
