// Where an instance keeps things. The volume (a PVC in Kubernetes) holds the data directory and the bootstrap
// marker; the marker lives beside PGDATA because pg_basebackup would copy anything inside it.
import { dirname, join } from 'node:path';
import type { InstanceSpec } from '../adapters/instance/spec.js';

export const volumeDir = (spec: InstanceSpec) => dirname(spec.dataDir);
export const bootstrapMarker = (spec: InstanceSpec) => join(volumeDir(spec), 'pgop-bootstrapped');
export const passfile = (spec: InstanceSpec) => join(spec.runDir, 'pgpass');
export const standbySignal = (spec: InstanceSpec) => join(spec.dataDir, 'standby.signal');
export const postmasterPid = (spec: InstanceSpec) => join(spec.dataDir, 'postmaster.pid');
export const bin = (spec: InstanceSpec, tool: string) => join(spec.pgBinDir, tool);
