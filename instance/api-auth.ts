// Who may call the agent API and what a request may carry. Every route but the kubelet probes and /metrics needs
// the cluster's bearer token; the comparison takes the same time whatever the guess (both sides are hashed to a
// fixed length first, then compared with timingSafeEqual).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { InstanceSpec } from '../adapters/instance/spec.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `authorization` is `Bearer <token>` with exactly the expected token. An empty expected token never matches. */
export function bearerMatches(authorization: string | undefined, expected: string): boolean {
  const m = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? '');
  const given = digest(m?.[1] ?? '');
  return timingSafeEqual(given, digest(expected)) && expected.length > 0 && m !== null;
}

/** A request the agent refuses as malformed (400), with a message that names the field and what is allowed. */
export class BadRequest extends Error {
  constructor(message: string) { super(message); this.name = 'BadRequest'; }
}

/** The lease holder names of this cluster's operator plans (see machines/failover planHolder). */
export const planHolders = (spec: InstanceSpec) =>
  (['switchover', 'failover'] as const).map((kind) => `${kind}:${spec.cluster.namespace}/${spec.cluster.name}`);

/**
 * `handoverTo` of a demotion: this cluster's own switchover or failover plan, the only holders a demoted primary
 * hands its lease to. Another cluster's plan, an instance (member or not: a lease handed to an instance without its
 * address would make the others follow nobody) or an invented name would leave the primary lease with a holder
 * nobody in this cluster answers for.
 */
export function checkHandoverTo(spec: InstanceSpec, value: unknown): string {
  const allowed = planHolders(spec);
  if (typeof value !== 'string' || !allowed.includes(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new BadRequest(`handoverTo ${shown} is not an operator plan of this cluster; use one of ${allowed.join(', ')}`);
  }
  return value;
}

/** A free-text reason that ends up in logs and status: printable, one line, bounded. */
export function checkReason(value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.length > 200 || /\p{Cc}/u.test(value)) {
    throw new BadRequest('reason must be a single line of at most 200 printable characters');
  }
  return value;
}
