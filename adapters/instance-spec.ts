// Pure: the instance spec a platform hands an agent, from the cluster spec and the pod's placement.
import type { PostgresClusterSpec } from '../crds/postgrescluster.js';
import type { InstanceSpec, InstanceTls, BackupRepo } from './instance/spec.js';
import type { RepositorySpec } from '../crds/backup-repository.js';
import { slotNameFor } from './instance/spec.js';
import { join } from 'node:path';
import { stanzaName } from '../crds/backup-repository.js';

export interface Placement {
  namespace: string;
  cluster: string;
  name: string;
  serial: number;
  bootstrap: 'initdb' | 'clone';
  port: number;
  httpPort: number;
  /** Address postgres and the agent listen on: loopback locally, the pod IP in Kubernetes. */
  host?: string;
  /** Directory the postgres OS user owns: volume, run dir, postgres log (the local layout). */
  home: string;
  /** Explicit paths where volumes are mounted separately (a Kubernetes pod); default: under `home`. */
  paths?: { dataDir: string; runDir: string; logFile: string };
  pgBinDir: string;
  /** The container image the instance runs, when it is not the bin directory (a Kubernetes Pod's image). */
  image?: string;
  /** The spec generation the settings come from (rolling updates); absent: not tracked. */
  configGeneration?: number;
  secrets: InstanceSpec['secrets'];
  runAsUser: string | null;
  primary: { host: string; port: number } | null;
  members: string[];
  /** redis://… or unix://… locally; `kubernetes:` for the Lease object in the cluster's namespace. */
  leaseUrl: string | null;
  faultsFile: string | null;
  /** The certificate files the platform provides and the name peers are verified by. */
  tls: InstanceTls;
  /** Where the platform mounts a repository's Secrets (S3 credentials, CA) for the agent. */
  repoFiles?: (repo: RepositorySpec) => Pick<BackupRepo, 'credentialFiles' | 'caFile'>;
}

export function buildInstanceSpec(spec: PostgresClusterSpec, p: Placement): InstanceSpec {
  const initdb = spec.bootstrap?.initdb;
  const recovery = spec.bootstrap?.recovery;
  const bootstrap: InstanceSpec['bootstrap'] = p.bootstrap === 'clone'
    ? { mode: 'clone', source: p.primary ?? { host: '127.0.0.1', port: 0 } }
    : recovery
      ? { mode: 'recovery', recovery: {
        source: { stanza: stanzaName(recovery.sourceCluster.namespace, recovery.sourceCluster.name), repository: recovery.repository, ...(p.repoFiles?.(recovery.repository) ?? {}) },
        ...(recovery.backup ? { backup: recovery.backup } : {}), ...(recovery.target ? { target: recovery.target } : {}),
      } }
      : { mode: 'initdb', initdb: {
        database: initdb?.database ?? 'app', owner: initdb?.owner ?? 'app', dataChecksums: initdb?.dataChecksums ?? true,
        encoding: initdb?.encoding ?? 'UTF8', locale: initdb?.locale ?? 'C',
      } };
  const backup = spec.backup
    ? { stanza: stanzaName(p.namespace, p.cluster), repository: spec.backup.repository, ...(p.repoFiles?.(spec.backup.repository) ?? {}) }
    : undefined;
  return {
    cluster: { namespace: p.namespace, name: p.cluster },
    name: p.name,
    serial: p.serial,
    host: p.host ?? '127.0.0.1',
    port: p.port,
    httpPort: p.httpPort,
    ...(p.paths ?? { dataDir: join(p.home, 'volume', 'pgdata'), runDir: join(p.home, 'run'), logFile: join(p.home, 'postgres.log') }),
    pgBinDir: p.pgBinDir,
    ...(p.image ? { image: p.image } : {}),
    bootstrap,
    ...(backup ? { backup } : {}),
    primary: p.primary,
    replicationSlot: slotNameFor(p.name),
    parameters: { ...(spec.postgresql?.parameters ?? {}) },
    ...(p.configGeneration !== undefined ? { configGeneration: p.configGeneration } : {}),
    pgHba: [...(spec.postgresql?.pgHba ?? [])],
    secrets: p.secrets,
    runAsUser: p.runAsUser,
    members: [...p.members],
    synchronous: spec.postgresql?.synchronous
      ? { method: spec.postgresql.synchronous.method, number: spec.postgresql.synchronous.number, dataDurability: spec.postgresql.synchronous.dataDurability }
      : null,
    lease: p.leaseUrl ? { url: p.leaseUrl, ttlMs: (spec.ha?.leaseDurationSeconds ?? 5) * 1000, renewMs: 1000 } : null,
    faultsFile: p.faultsFile,
    tls: { ...p.tls },
  };
}
