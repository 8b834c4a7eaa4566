// The one routing decision: which instances receive read-write and read-only traffic. The cluster machine holds
// the one primary record (context.currentPrimary, published as status.currentPrimary); forwarders (local),
// Services (Kubernetes), poolers and the router consume this selector instead of deciding again.
import type { ClusterSnapshot } from './cluster.selectors.js';
import { selectStoppedInstances } from './power.selectors.js';

/** What the platform last saw of an instance's agent (role and readiness), when it answered. */
export interface RouteObservation { role: 'primary' | 'replica' | string; ready: boolean }

export interface Routes {
  /** The instance that takes writes, or null while none may (a primary being failed over gets no traffic). */
  readWrite: string | null;
  /** Running replicas their agents report ready, in member order. */
  readOnly: string[];
}

export function selectRoutes(snapshot: ClusterSnapshot, observed: (instance: string) => RouteObservation | undefined): Routes {
  const ctx = snapshot.context;
  let readWrite: string | null = null;
  const readOnly: string[] = [];
  // Fenced or hibernating instances are stopped on purpose: no traffic, even before the platform has stopped them.
  const stopped = new Set(selectStoppedInstances(snapshot));
  for (const m of ctx.members) {
    if (stopped.has(m.name)) continue;
    if (m.name === ctx.currentPrimary) {
      // The cluster decides who is primary (its plans hold the lease), even before the next report confirms a
      // promotion; a primary being failed over, or known gone, gets no traffic.
      const beingReplaced = snapshot.matches('failingOver') && ctx.planFrom === m.name;
      if (!beingReplaced && !ctx.goneInstances.includes(m.name)) readWrite = m.name;
      continue;
    }
    const obs = observed(m.name);
    if (m.phase === 'running' && obs?.role === 'replica' && obs.ready) readOnly.push(m.name);
  }
  return { readWrite, readOnly };
}
