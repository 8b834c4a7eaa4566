// Timeline history files, kept apart from the lease in an object of their own (a Redis hash locally, the ConfigMap
// `<cluster>-timelines` on Kubernetes) that is deleted with the cluster. A candidate that never saw a newer timeline
// writes the ones it lacks before it promotes, so two promotions never pick the same timeline id (there is no shared
// WAL archive to find them in). Bounded: the newest KEEP_TIMELINES within MAX_HISTORY_BYTES; PostgreSQL probes for
// history files upward from its own timeline, and a candidate that far behind would never be chosen anyway.
import type { Redis } from 'ioredis';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { LeaseStoreUnreachable } from './primary-lease.js';
import { httpStatus } from '../k8s/client.js';
import { timelinesConfigMapName } from '../k8s/specs/names.js';

export const KEEP_TIMELINES = 32;
/** Well under a ConfigMap's 1 MiB: a history file grows by a line per timeline. */
export const MAX_HISTORY_BYTES = 512 * 1024;

export interface TimelineHistories {
  record(timeline: number, content: string): Promise<void>;
  all(): Promise<Record<number, string>>;
}

/** Which timelines to drop: all but the newest `keep`, and older ones while the total is too large (never the newest). */
export function timelinesToPrune(entries: Record<string, string>, keep = KEEP_TIMELINES, maxBytes = MAX_HISTORY_BYTES): string[] {
  const newestFirst = Object.keys(entries).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(b) - Number(a));
  const kept: string[] = [];
  let bytes = 0;
  for (const k of newestFirst) {
    const size = Buffer.byteLength(entries[k] ?? '', 'utf8');
    if (kept.length >= keep || (kept.length > 0 && bytes + size > maxBytes)) break;
    kept.push(k);
    bytes += size;
  }
  return Object.keys(entries).filter((k) => !kept.includes(k));
}

const asTimelines = (data: Record<string, string>) =>
  Object.fromEntries(Object.entries(data).filter(([k]) => /^\d+$/.test(k)).map(([k, v]) => [Number(k), v]));

export class RedisTimelineHistories implements TimelineHistories {
  private readonly key: string;

  constructor(private readonly redis: Redis, cluster: { namespace: string; name: string }, private readonly cut: () => boolean = () => false) {
    this.key = `pgop:timelines:${cluster.namespace}:${cluster.name}`;
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.cut()) throw new LeaseStoreUnreachable('cut off (drill)');
    try { return await fn(); } catch (e) { throw new LeaseStoreUnreachable((e as Error).message); }
  }

  async record(timeline: number, content: string): Promise<void> {
    await this.call(async () => {
      await this.redis.hset(this.key, String(timeline), content);
      const drop = timelinesToPrune(await this.redis.hgetall(this.key));
      if (drop.length) await this.redis.hdel(this.key, ...drop);
    });
  }

  async all(): Promise<Record<number, string>> {
    return asTimelines(await this.call(() => this.redis.hgetall(this.key)));
  }

  async clear(): Promise<void> { await this.redis.del(this.key); }
}

export class K8sTimelineHistories implements TimelineHistories {
  private readonly core: CoreV1Api;
  private readonly name: string;

  constructor(kc: KubeConfig, private readonly cluster: { namespace: string; name: string }, private readonly cut: () => boolean = () => false) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.name = timelinesConfigMapName(cluster.name);
  }

  private async read(): Promise<V1ConfigMap> {
    if (this.cut()) throw new LeaseStoreUnreachable('cut off (drill)');
    try {
      return await this.core.readNamespacedConfigMap({ namespace: this.cluster.namespace, name: this.name });
    } catch (e) {
      if (httpStatus(e) === 404) throw new Error(`ConfigMap ${this.cluster.namespace}/${this.name} is missing; the operator creates it with the cluster`);
      throw new LeaseStoreUnreachable((e as Error).message);
    }
  }

  /** Read, add, prune, replace with the read resourceVersion; a concurrent writer's 409 means read again. */
  async record(timeline: number, content: string): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const cm = await this.read();
      const data = { ...(cm.data ?? {}), [String(timeline)]: content };
      for (const k of timelinesToPrune(data)) delete data[k];
      try {
        await this.core.replaceNamespacedConfigMap({ namespace: this.cluster.namespace, name: this.name, body: { ...cm, data } });
        return;
      } catch (e) {
        if (httpStatus(e) !== 409) throw new LeaseStoreUnreachable((e as Error).message);
      }
    }
    throw new Error(`could not update ConfigMap ${this.name}: too many conflicting writers`);
  }

  async all(): Promise<Record<number, string>> {
    return asTimelines((await this.read()).data ?? {});
  }
}
