// The instance spec: what a Pod spec plus its mounted ConfigMap and Secrets tell the agent. On the local
// platform it is a JSON file written by the platform; the agent re-reads it on SIGHUP.
import { readFileSync } from 'node:fs';
import type { RepositorySpec, RecoveryTarget } from '../../crds/backup-repository.js';

export interface InitdbOptions {
  database: string;
  owner: string;
  dataChecksums: boolean;
  encoding: string;
  locale: string;
}

/** A pgBackRest repository as the agent sees it: the stanza to use and the files holding its secrets. */
export interface BackupRepo {
  stanza: string;
  repository: RepositorySpec;
  /** Files holding the S3 access key id and secret (mounted Secret keys); absent for posix. */
  credentialFiles?: { accessKeyId: string; secretAccessKey: string };
  caFile?: string;
}

export interface RecoveryBootstrap {
  /** The source cluster's stanza, read only. */
  source: BackupRepo;
  backup?: string;
  target?: RecoveryTarget;
}

export interface InstanceSpec {
  cluster: { namespace: string; name: string };
  name: string;
  serial: number;
  /** Address postgres and the agent listen on (127.0.0.1 locally, the pod IP in Kubernetes). */
  host: string;
  port: number;
  httpPort: number;
  dataDir: string;
  /** Sockets, pgpass and other files postgres must read but that must not live in the data directory. */
  runDir: string;
  logFile: string;
  pgBinDir: string;
  /**
   * The container image this instance runs (Kubernetes: the Pod's image), reported instead of pgBinDir so the
   * operator compares it with the cluster's resolved image. Absent (local): the bin directory is the image.
   */
  image?: string;
  bootstrap:
    | { mode: 'initdb'; initdb: InitdbOptions }
    | { mode: 'clone'; source: { host: string; port: number } }
    | { mode: 'recovery'; recovery: RecoveryBootstrap };
  /** This cluster's own repository and stanza: WAL archiving and backups. Absent: no archiving. */
  backup?: BackupRepo;
  /** Where this instance streams from when it is a replica. */
  primary: { host: string; port: number } | null;
  replicationSlot: string;
  parameters: Record<string, string>;
  pgHba: string[];
  /** The cluster spec generation these settings come from; the agent reports it once postgres has loaded them. */
  configGeneration?: number;
  /**
   * What this running instance cannot apply without being started again (Kubernetes: a posix repository added to the
   * spec needs a volume its Pod was created without). Reported as a pending restart, so a rolling update re-creates
   * the Pods, the primary last (ADR 0044).
   */
  restartNeeded?: string[];
  /**
   * Where the operator and peer agents connect from as the superuser, when postgres listens on a non-loopback
   * address (Kubernetes: the pod network). Absent: any address, scram only. Loopback hosts always use loopback.
   */
  superuserNetworks?: string[];
  /** Files holding the generated passwords (superuser, replication, app) and the bearer token of the agent API. */
  secrets: { superuser: string; replication: string; app: string; agentToken: string };
  /** Set when the agent runs as root: postgres and its tools run as this OS user. */
  runAsUser: string | null;
  /** Every instance of the cluster (this one included): the primary's synchronous standby candidates. */
  members: string[];
  synchronous: { method: 'any' | 'first'; number: number; dataDurability: 'required' | 'preferred' } | null;
  /** The primary lease; null runs without HA (a single instance that always leads). */
  lease: { url: string; ttlMs: number; renewMs: number } | null;
  /** Drill switches the platform can flip (local only): { "leaseStoreCut": true } simulates a partition. */
  faultsFile: string | null;
  tls: InstanceTls;
}

/**
 * The server certificate the platform provides (files the agent copies into its run directory for postgres) and
 * how this instance verifies its peers. TLS is not optional: every TCP connection to postgres uses it.
 */
export interface InstanceTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /**
   * The name a peer's certificate is verified against when the address dialled may not be in it (a pod IP that
   * changed since issue); null verifies the address itself (127.0.0.1 locally).
   */
  serverName: string | null;
}

export function readInstanceSpec(path: string): InstanceSpec {
  return JSON.parse(readFileSync(path, 'utf8')) as InstanceSpec;
}

export const SUPERUSER = 'postgres';
export const REPLICATION_USER = 'streaming_replica';

/** Physical slot names allow only [a-z0-9_]. */
export const slotNameFor = (instance: string) => `pgop_${instance.replace(/[^a-z0-9]/g, '_')}`;
