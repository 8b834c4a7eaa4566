// One inspection hook for every actor (roots and children): structured transition logs, transition metrics, and,
// with --inspect, a stream to the Stately inspector with secrets scrubbed.
import { createWebSocketInspector } from '@statelyai/inspect';
import type { InspectionEvent, AnyActorRef } from 'xstate';
import type { Logger } from '../../actors/ports/logger.js';

const SECRET = /password|secret|token|passfile|pgpass/i;

/** Deep copy with secret-looking keys replaced; contexts hold none by design, this is the belt to those braces. */
export function scrub<T>(value: T): T {
  if (Array.isArray(value)) return value.map(scrub) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET.test(k) ? '[scrubbed]' : scrub(v)])) as T;
  }
  return value;
}

export const stateLabel = (value: unknown): string =>
  typeof value === 'string' ? value : Object.entries((value ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}.${stateLabel(v)}`).join(',');

const machineOf = (ref: AnyActorRef) => ((ref as unknown as { logic?: { id?: string } }).logic?.id) ?? 'actor';

export interface InspectionOptions {
  log: Logger;
  resource: string;
  onTransition?: (machine: string, from: string, to: string) => void;
  /** The operator's one stream to the inspector relay (see createInspectorStream), shared by every resource. */
  stream?: InspectorStream;
  /** Drills: `machine:state` (PGOP_CRASH_AT) kills this process the moment that machine enters that state. */
  crashAt?: string;
}

export interface InspectorStream { next(e: InspectionEvent): void; stop(): void }

/**
 * One WebSocket to the relay for the whole operator. Events raised before it opens are held; the library's default
 * of 200 held events dropped the first actors' registrations while a busy operator restored its resources.
 */
export function createInspectorStream(url: string): InspectorStream {
  const inspector = createWebSocketInspector({ url, sanitizeContext: scrub, sanitizeEvent: scrub, maxDeferredEvents: 100_000 });
  return { next: (e) => inspector.inspect.next?.(e), stop: () => inspector.stop() };
}

export function createActorInspection(o: InspectionOptions): (e: InspectionEvent) => void {
  const last = new Map<string, string>();
  return (e) => {
    o.stream?.next(e);
    if (e.type !== '@xstate.snapshot') return;
    const snap = e.snapshot as { value?: unknown };
    if (snap.value === undefined) return;
    const id = e.actorRef.sessionId;
    const to = stateLabel(snap.value);
    const from = last.get(id);
    if (from === to) return;
    last.set(id, to);
    const ref = e.actorRef as unknown as AnyActorRef;
    const machine = machineOf(ref);
    o.onTransition?.(machine, from ?? 'none', to);
    o.log.info({ resource: o.resource, machine, actor: ref.id, from: from ?? null, to, event: e.event.type }, `${machine} ${from ?? '∅'} → ${to}`);
    if (o.crashAt && o.crashAt === `${machine}:${to}`) {
      if (o.log.fatal) o.log.fatal({ crashAt: o.crashAt }, 'crash drill: SIGKILL now'); else o.log.error({ crashAt: o.crashAt }, 'crash drill: SIGKILL now');
      o.log.flush?.();
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
