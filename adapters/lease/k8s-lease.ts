// The primary lease as a coordination.k8s.io Lease named <cluster>-primary. Kubernetes does not expire Leases, so
// expiry is judged like client-go does: by how long ago this process saw the Lease change (its own clock), never
// by the holder's timestamps. Every write carries the read resourceVersion, so racing writers get a 409.
// The last promoted primary rides along as an annotation (timeline histories have their own ConfigMap).
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { httpStatus } from '../k8s/client.js';
import { primaryLeaseName } from '../k8s/specs/names.js';
import type { LeaseHolder, LeaseState, PrimaryLease, PrimaryRecord } from './primary-lease.js';
import { LeaseStoreUnreachable } from './primary-lease.js';

const PRIMARY = 'postgres.keiailab.io/primary';
const encode = (h: LeaseHolder) => `${h.holder}|${h.host}|${h.port}`;
const decode = (v: string | undefined | null): LeaseHolder | null => {
  if (!v) return null;
  const [holder, host, port] = v.split('|');
  return { holder: holder ?? '', host: host ?? '', port: Number(port) };
};

export class K8sPrimaryLease implements PrimaryLease {
  private readonly api: CoordinationV1Api;
  private readonly name: string;
  private seen: { rv: string; at: number } | null = null;

  constructor(kc: KubeConfig, private readonly cluster: { namespace: string; name: string }, private readonly cut: () => boolean = () => false) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.name = primaryLeaseName(cluster.name);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.cut()) throw new LeaseStoreUnreachable('cut off (drill)');
    try { return await fn(); } catch (e) { if (httpStatus(e) === 409 || httpStatus(e) === 404) throw e; throw new LeaseStoreUnreachable((e as Error).message); }
  }

  private async get(): Promise<V1Lease | undefined> {
    try { return await this.call(() => this.api.readNamespacedLease({ name: this.name, namespace: this.cluster.namespace })); } catch (e) { if (httpStatus(e) === 404) return undefined; throw e; }
  }

  /** Holder unless the Lease has not changed for its whole duration, as observed from here. */
  private live(lease: V1Lease | undefined): LeaseHolder | null {
    if (!lease?.spec?.holderIdentity) return null;
    const rv = lease.metadata?.resourceVersion ?? '';
    if (rv !== this.seen?.rv) this.seen = { rv, at: Date.now() };
    const ms = (lease.spec.leaseDurationSeconds ?? 5) * 1000;
    return Date.now() - this.seen.at >= ms ? null : decode(lease.spec.holderIdentity);
  }

  private async write(lease: V1Lease | undefined, mutate: (l: V1Lease) => V1Lease): Promise<boolean> {
    try {
      if (!lease) {
        await this.call(() => this.api.createNamespacedLease({ namespace: this.cluster.namespace, body: mutate({ metadata: { name: this.name, namespace: this.cluster.namespace }, spec: {} }) }));
      } else {
        await this.call(() => this.api.replaceNamespacedLease({ name: this.name, namespace: this.cluster.namespace, body: mutate(structuredClone(lease)) }));
      }
      return true;
    } catch (e) {
      if (httpStatus(e) === 409) return false;
      throw e;
    }
  }

  private hold(l: V1Lease, h: LeaseHolder, ttlMs: number, taking: boolean): V1Lease {
    return {
      ...l,
      spec: {
        ...l.spec, holderIdentity: encode(h), leaseDurationSeconds: Math.max(1, Math.round(ttlMs / 1000)), renewTime: new V1MicroTime(),
        ...(taking ? { acquireTime: new V1MicroTime(), leaseTransitions: (l.spec?.leaseTransitions ?? 0) + 1 } : {}),
      },
    };
  }

  async acquire(me: LeaseHolder, ttlMs: number) {
    const lease = await this.get();
    const holder = this.live(lease);
    if (holder && holder.holder !== me.holder) return { acquired: false, holder };
    const ok = await this.write(lease, (l) => this.hold(l, me, ttlMs, holder?.holder !== me.holder));
    return { acquired: ok, holder: ok ? me : this.live(await this.get()) };
  }

  async renew(holder: string, ttlMs: number) {
    // A conflict is another writer of the same object (the operator annotating the primary record), not another
    // holder: read again. Taken for a loss, it fenced a healthy primary under load (ADR 0036).
    for (let attempt = 0; attempt < 3; attempt++) {
      const lease = await this.get();
      const h = decode(lease?.spec?.holderIdentity);
      if (!lease || h?.holder !== holder) return false;
      if (await this.write(lease, (l) => this.hold(l, h, ttlMs, false))) return true;
    }
    return false;
  }

  async handover(from: string, to: LeaseHolder, ttlMs: number) {
    const lease = await this.get();
    if (!lease || decode(lease.spec?.holderIdentity)?.holder !== from) return false;
    return this.write(lease, (l) => this.hold(l, to, ttlMs, true));
  }

  async release(holder: string) {
    const lease = await this.get();
    if (!lease || decode(lease.spec?.holderIdentity)?.holder !== holder) return;
    await this.write(lease, (l) => ({ ...l, spec: { ...l.spec, holderIdentity: undefined } }));
  }

  async read(): Promise<LeaseState> {
    const lease = await this.get();
    const holder = this.live(lease);
    const ms = (lease?.spec?.leaseDurationSeconds ?? 5) * 1000;
    return { holder, ttlMs: holder && this.seen ? Math.max(0, ms - (Date.now() - this.seen.at)) : 0 };
  }

  private async annotate(key: string, value: string): Promise<void> {
    for (let i = 0; i < 10; i++) {
      const lease = await this.get();
      if (await this.write(lease, (l) => ({ ...l, metadata: { ...l.metadata, annotations: { ...(l.metadata?.annotations ?? {}), [key]: value } } }))) return;
    }
    throw new Error(`could not annotate Lease ${this.name}: too many conflicting writers`);
  }

  async recordPrimary(record: PrimaryRecord) { await this.annotate(PRIMARY, JSON.stringify(record)); }

  async readPrimary(): Promise<PrimaryRecord | null> {
    const raw = (await this.get())?.metadata?.annotations?.[PRIMARY];
    return raw ? (JSON.parse(raw) as PrimaryRecord) : null;
  }

  async close() { /* HTTP only */ }
}
