// The markers beside PGDATA that say whether the data directory may be started. "bootstrapped" is written last,
// once a data directory is whole (initdb, clone or rewind finished); it is removed before anything rewrites the
// directory (a rewind, a re-clone), so a crash midway never starts a half-rewritten directory. "rejoining" records
// that a rewind or re-clone was under way: an instance that crashed then clones again, even if it was once the
// initdb primary (initdb would make an empty cluster that could lead).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, removeFileDurably } from '../adapters/os/atomic-file.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { bootstrapMarker, volumeDir } from './layout.js';

const rejoinMarker = (spec: InstanceSpec) => join(volumeDir(spec), 'pgop-rejoining');

export interface RejoinSource { host: string; port: number }

export const isBootstrapped = (spec: InstanceSpec) => existsSync(bootstrapMarker(spec)) && existsSync(spec.dataDir);

export function markBootstrapped(spec: InstanceSpec): void {
  writeFileAtomic(bootstrapMarker(spec), new Date().toISOString(), { mode: 0o644 });
  removeFileDurably(rejoinMarker(spec));
}

/** Before anything rewrites the directory: from here until markBootstrapped, a restart re-clones. */
export function beginRewrite(spec: InstanceSpec, source: RejoinSource): void {
  writeFileAtomic(rejoinMarker(spec), `${JSON.stringify({ host: source.host, port: source.port, at: new Date().toISOString() })}\n`, { mode: 0o644 });
  removeFileDurably(bootstrapMarker(spec));
}

/** Where to clone from when a rewind or re-clone was interrupted; null when none was. */
export function interruptedRewrite(spec: InstanceSpec): RejoinSource | null {
  if (!existsSync(rejoinMarker(spec))) return null;
  try {
    const r = JSON.parse(readFileSync(rejoinMarker(spec), 'utf8')) as Partial<RejoinSource>;
    const recorded = typeof r.host === 'string' && typeof r.port === 'number' ? { host: r.host, port: r.port } : null;
    // The platform's current primary is fresher than the one the interrupted rejoin followed.
    return spec.primary ?? recorded;
  } catch {
    return spec.primary ?? { host: '', port: 0 };
  }
}
