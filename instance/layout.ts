// Where an instance keeps things. The volume (a PVC in Kubernetes) holds the data directory and the bootstrap
// marker; the marker lives beside PGDATA because pg_basebackup would copy anything inside it.
import { dirname, join } from 'node:path';
import type { InstanceSpec } from '../adapters/instance/spec.js';

export const volumeDir = (spec: InstanceSpec) => dirname(spec.dataDir);
export const bootstrapMarker = (spec: InstanceSpec) => join(volumeDir(spec), 'pgop-bootstrapped');
export const passfile = (spec: InstanceSpec) => join(spec.runDir, 'pgpass');
export const standbySignal = (spec: InstanceSpec) => join(spec.dataDir, 'standby.signal');
export const postmasterPid = (spec: InstanceSpec) => join(spec.dataDir, 'postmaster.pid');
/** postgres' copies of the certificate files, outside the data directory (pg_basebackup would copy them). */
export const tlsDir = (spec: InstanceSpec) => join(spec.runDir, 'tls');
export const tlsFiles = (spec: InstanceSpec) => ({
  cert: join(tlsDir(spec), 'server.crt'), key: join(tlsDir(spec), 'server.key'), ca: join(tlsDir(spec), 'ca.crt'),
});
/**
 * libpq (the walreceiver, pg_basebackup, pg_rewind) looks for a client certificate under $HOME/.postgresql and
 * fails on a HOME it may not read (root's, when the agent runs as root): point HOME at the run directory.
 */
export const libpqEnv = (spec: InstanceSpec): NodeJS.ProcessEnv => ({ ...process.env, HOME: spec.runDir });
export const bin = (spec: InstanceSpec, tool: string) => join(spec.pgBinDir, tool);
