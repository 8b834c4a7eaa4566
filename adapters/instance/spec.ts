// The instance spec: what a Pod spec plus its mounted ConfigMap and Secrets tell the agent. On the local
// platform it is a JSON file written by the platform; the agent re-reads it on SIGHUP.
import { readFileSync } from 'node:fs';

export interface InitdbOptions {
  database: string;
  owner: string;
  dataChecksums: boolean;
  encoding: string;
  locale: string;
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
  bootstrap: { mode: 'initdb'; initdb: InitdbOptions } | { mode: 'clone'; source: { host: string; port: number } };
  /** Where this instance streams from when it is a replica. */
  primary: { host: string; port: number } | null;
  replicationSlot: string;
  parameters: Record<string, string>;
  pgHba: string[];
  /** Files holding the generated passwords (superuser, replication, app). */
  secrets: { superuser: string; replication: string; app: string };
  /** Set when the agent runs as root: postgres and its tools run as this OS user. */
  runAsUser: string | null;
  /** Every instance of the cluster (this one included): the primary's synchronous standby candidates. */
  members: string[];
  synchronous: { method: 'any' | 'first'; number: number; dataDurability: 'required' | 'preferred' } | null;
  /** The primary lease; null runs without HA (a single instance that always leads). */
  lease: { url: string; ttlMs: number; renewMs: number } | null;
  /** Drill switches the platform can flip (local only): { "leaseStoreCut": true } simulates a partition. */
  faultsFile: string | null;
}

export function readInstanceSpec(path: string): InstanceSpec {
  return JSON.parse(readFileSync(path, 'utf8')) as InstanceSpec;
}

export const SUPERUSER = 'postgres';
export const REPLICATION_USER = 'streaming_replica';

/** Physical slot names allow only [a-z0-9_]. */
export const slotNameFor = (instance: string) => `pgop_${instance.replace(/[^a-z0-9]/g, '_')}`;
