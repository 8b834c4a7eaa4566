// Stable per-cluster endpoints, the local stand-in for the -rw / -ro Services: a TCP forwarder per endpoint
// whose target follows the cluster's status (current primary; ready replicas, the one with the fewest open sessions first).
import type { Redis } from 'ioredis';
import { freePort, portIsFree } from './ports.js';
import { TcpSpreader, type Target } from '../net/tcp-spreader.js';
import type { Logger } from '../logging/logger.js';

export interface EndpointRecord { namespace: string; cluster: string; readWrite: number; readOnly: number }
export type { Target };

const ENDPOINTS = 'pgop:endpoints';
const field = (ns: string, cluster: string) => `${ns}/${cluster}`;

export class EndpointTable {
  constructor(private readonly redis: Redis) {}

  async ensure(namespace: string, cluster: string): Promise<EndpointRecord> {
    const raw = await this.redis.hget(ENDPOINTS, field(namespace, cluster));
    if (raw) return JSON.parse(raw) as EndpointRecord;
    const rec = { namespace, cluster, readWrite: await freePort(), readOnly: await freePort() };
    await this.redis.hset(ENDPOINTS, field(namespace, cluster), JSON.stringify(rec));
    return rec;
  }

  async get(namespace: string, cluster: string): Promise<EndpointRecord | undefined> {
    const raw = await this.redis.hget(ENDPOINTS, field(namespace, cluster));
    return raw ? (JSON.parse(raw) as EndpointRecord) : undefined;
  }

  async list(): Promise<EndpointRecord[]> {
    return Object.values(await this.redis.hgetall(ENDPOINTS)).map((r) => JSON.parse(r) as EndpointRecord);
  }

  async remove(namespace: string, cluster: string): Promise<void> { await this.redis.hdel(ENDPOINTS, field(namespace, cluster)); }
}

export class EndpointProxies {
  private readonly forwarders = new Map<string, TcpSpreader>();
  constructor(private readonly log: Logger) {}

  async sync(records: EndpointRecord[], targets: (rec: EndpointRecord) => { rw: Target[]; ro: Target[] }): Promise<void> {
    const wanted = new Set<string>();
    for (const rec of records) {
      const t = targets(rec);
      for (const [kind, port, list] of [['rw', rec.readWrite, t.rw], ['ro', rec.readOnly, t.ro]] as const) {
        const id = `${rec.namespace}/${rec.cluster}-${kind}`;
        wanted.add(id);
        let f = this.forwarders.get(id);
        if (!f) {
          f = new TcpSpreader(port, this.log, id);
          try {
            if (!(await portIsFree(port))) throw new Error(`endpoint ${id} port ${port} is in use by another process`);
            await f.listen();
          } catch (e) { this.log.error({ endpoint: id, err: (e as Error).message }, 'cannot open endpoint'); continue; }
          this.forwarders.set(id, f);
        }
        f.setTargets([...list]);
      }
    }
    for (const [id, f] of this.forwarders) if (!wanted.has(id)) { await f.close(); this.forwarders.delete(id); }
  }

  async closeAll(): Promise<void> {
    for (const f of this.forwarders.values()) await f.close();
    this.forwarders.clear();
  }
}
