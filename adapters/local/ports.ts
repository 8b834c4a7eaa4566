// Listening ports for the local platform's processes (postgres, agents, endpoints, Redis, routers, poolers).
// A port is recorded when a pod is placed and bound later, after a restore or a clone. Ports the kernel hands out
// for listen(0) come from its ephemeral range, the same range every outgoing connection takes its source port
// from: a client socket that happened to take the recorded port meanwhile kept postgres from binding it for as
// long as that connection lived (ADR 0046). So ports are chosen outside that range, checked free, and reserved
// machine-wide for a while, so that no other pgop process (another state directory, a CLI, a test) picks the same
// port before the first one binds it.
import { createServer } from 'node:net';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomInt } from 'node:crypto';

/** Below this, ports are left to well-known and registered services. */
const LOWEST = 10_000;
const HIGHEST = 65_535;
/** Linux's default when the range cannot be read (other systems: a range of their own; the probe still holds). */
const DEFAULT_EPHEMERAL: [number, number] = [32_768, 60_999];

export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch { /* not Linux, or no /proc */ }
  return DEFAULT_EPHEMERAL;
}

/** The ports outside the ephemeral range, as [from, to] spans. */
export function listeningSpans([lo, hi]: [number, number]): Array<[number, number]> {
  const spans: Array<[number, number]> = [[LOWEST, Math.min(lo - 1, HIGHEST)], [Math.max(hi + 1, LOWEST), HIGHEST]];
  return spans.filter(([a, b]) => b - a >= 1_000);
}

/** Long enough for a placed pod to restore or clone and bind; after it, a bound port fails the probe anyway. */
const RESERVED_FOR_MS = 15 * 60_000;
const RESERVATIONS = join(tmpdir(), 'pgop-port-reservations');

/**
 * Claims `port` for this caller unless another claimed it in the last RESERVED_FOR_MS: a file per port, created
 * exclusively. Where no file can be written, the probe alone decides, as before.
 */
export function reserve(port: number, dir = RESERVATIONS, now = Date.now()): boolean {
  const file = join(dir, String(port));
  try {
    mkdirSync(dir, { recursive: true, mode: 0o1777 });
    closeSync(openSync(file, 'wx', 0o644));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true;
  }
  try {
    if (now - statSync(file).mtimeMs < RESERVED_FOR_MS) return false;
    utimesSync(file, now / 1000, now / 1000);
    return true;
  } catch { return true; }
}

/** A port that is free right now on the given address and that no outgoing connection will take. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const spans = listeningSpans(ephemeralRange());
  const size = spans.reduce((n, [a, b]) => n + b - a + 1, 0);
  for (let attempt = 0; size > 0 && attempt < 64; attempt++) {
    let pick = randomInt(size);
    let port = 0;
    for (const [a, b] of spans) {
      if (pick <= b - a) { port = a + pick; break; }
      pick -= b - a + 1;
    }
    if ((await portIsFree(port, host)) && reserve(port)) return port;
  }
  // The ephemeral range covers (nearly) every port: take what the kernel gives, as before.
  return kernelPort(host);
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Reuse a recorded port when it is still free, so endpoints stay stable across restarts. */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}
