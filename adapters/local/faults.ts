// Drill switches for one instance (local platform only), in a small JSON file its agent re-reads:
// leaseStoreCut simulates a partition from the lease store; promoteFails makes promotion fail; reconfigureDelayMs
// holds every configuration reload that long (the agent stays `reconfiguring`, as under a slow repository step).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface Faults { leaseStoreCut?: boolean; promoteFails?: boolean; reconfigureDelayMs?: number }

export function readFaults(file: string | null): Faults {
  if (!file || !existsSync(file)) return {};
  try { return JSON.parse(readFileSync(file, 'utf8')) as Faults; } catch { return {}; }
}

export function setFaults(file: string, patch: Faults): Faults {
  const next = { ...readFaults(file), ...patch };
  writeFileSync(file, `${JSON.stringify(next)}\n`);
  return next;
}

/** A cached reader: the lease keeper asks every second, the file changes rarely. */
export function faultReader(file: string | null, maxAgeMs = 200): () => Faults {
  let at = 0;
  let cached: Faults = {};
  return () => {
    if (Date.now() - at > maxAgeMs) { at = Date.now(); cached = readFaults(file); }
    return cached;
  };
}
