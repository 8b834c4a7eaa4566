// Leader election on a coordination.k8s.io Lease, client-go style: follow while the holder keeps changing the
// Lease within its duration (judged by our own clock, never the holder's timestamps), take it over with a replace
// that carries the read resourceVersion (a concurrent taker gets a 409), step down before it could expire.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { httpStatus } from '../k8s/client.js';
import type { LeaderElector } from './leader-election.js';

export class K8sLeaseElector implements LeaderElector {
  private readonly api: CoordinationV1Api;
  private seen: { rv: string; at: number } | null = null;

  constructor(kc: KubeConfig, readonly identity: string, private readonly namespace: string, private readonly name = 'pgop-operator', private readonly durationS = 15) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  private async read(): Promise<V1Lease | undefined> {
    try { return await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }); } catch (e) { if (httpStatus(e) === 404) return undefined; throw e; }
  }

  /** One attempt: true when we hold the lease afterwards. */
  async tryAcquire(): Promise<boolean> {
    const lease = await this.read();
    const now = () => new V1MicroTime();
    if (!lease) {
      try {
        await this.api.createNamespacedLease({ namespace: this.namespace, body: { metadata: { name: this.name }, spec: {
          holderIdentity: this.identity, leaseDurationSeconds: this.durationS, acquireTime: now(), renewTime: now(), leaseTransitions: 0,
        } } });
        return true;
      } catch (e) { if (httpStatus(e) === 409) return false; throw e; }
    }
    const rv = lease.metadata?.resourceVersion ?? '';
    if (rv !== this.seen?.rv) this.seen = { rv, at: Date.now() };
    const holder = lease.spec?.holderIdentity;
    const expired = Date.now() > this.seen.at + (lease.spec?.leaseDurationSeconds ?? this.durationS) * 1000;
    if (holder && holder !== this.identity && !expired) return false;
    const taking = holder !== this.identity;
    try {
      await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: {
        ...lease,
        spec: {
          ...lease.spec, holderIdentity: this.identity, leaseDurationSeconds: this.durationS, renewTime: now(),
          ...(taking ? { acquireTime: now(), leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1 } : {}),
        },
      } });
      return true;
    } catch (e) { if (httpStatus(e) === 409) return false; throw e; }
  }

  async acquire(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (await this.tryAcquire().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, Math.max(200, (this.durationS * 1000) / 5)));
    }
    throw new Error('stopped before becoming leader');
  }

  hold(lost: (why: string) => void): () => void {
    let lastOk = Date.now();
    let done = false;
    const finish = (why: string) => { if (done) return; done = true; clearInterval(timer); lost(why); };
    // One renewal at a time: two in flight read the same resourceVersion, and the second one's 409 would look like
    // another operator taking over (seen under CPU load, when a renewal outlasts the interval).
    let renewing = false;
    const timer = setInterval(() => {
      if (renewing) return;
      renewing = true;
      const sentAt = Date.now();
      void this.tryAcquire().then((ok) => { if (ok) lastOk = sentAt; else finish('another operator holds the leader Lease'); }, (e: unknown) => {
        if (Date.now() - lastOk > this.durationS * 700) finish(`could not renew the leader Lease: ${(e as Error).message}`);
      }).finally(() => { renewing = false; });
    }, Math.max(200, (this.durationS * 1000) / 5));
    return () => { done = true; clearInterval(timer); };
  }

  async release(): Promise<void> {
    const lease = await this.read().catch(() => undefined);
    if (lease?.spec?.holderIdentity !== this.identity) return;
    await this.api.replaceNamespacedLease({ name: this.name, namespace: this.namespace, body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: new V1MicroTime() } } }).catch(() => undefined);
  }

  async current(): Promise<string | null> { return (await this.read())?.spec?.holderIdentity ?? null; }
}
