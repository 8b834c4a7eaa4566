// Stable per-cluster endpoints, the local stand-in for the -rw / -ro Services: a TCP forwarder per endpoint
// whose target follows the cluster's status (current primary; ready replicas round-robin).
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { freePort, portIsFree } from './ports.js';
import type { Logger } from '../logging/logger.js';

export interface EndpointRecord { namespace: string; cluster: string; readWrite: number; readOnly: number }
export interface Target { host: string; port: number }

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

/** One listening port that forwards each connection to a target chosen at connect time. */
class Forwarder {
  private server: Server | null = null;
  private targets: Target[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number, private readonly log: Logger, private readonly name: string) {}

  /** Client socket → the target it was forwarded to, to cut sessions to a target that is no longer selected. */
  private readonly sessions = new Map<Socket, { target: Target; upstream: Socket }>();

  setTargets(targets: Target[]): void {
    const changed = JSON.stringify(targets) !== JSON.stringify(this.targets);
    this.targets = targets;
    if (!changed) return;
    this.log.info({ endpoint: this.name, port: this.port, targets }, 'endpoint targets changed');
    // Like HAProxy's on-marked-down shutdown-sessions: a fenced old primary keeps no client it could still answer
    // (a frozen one would otherwise acknowledge, at its thaw, what those clients had sent meanwhile).
    const kept = new Set(targets.map((t) => `${t.host}:${t.port}`));
    for (const [client, { target, upstream }] of this.sessions) {
      if (!kept.has(`${target.host}:${target.port}`)) { client.destroy(); upstream.destroy(); this.sessions.delete(client); }
    }
  }

  async listen(): Promise<void> {
    if (this.server) return;
    if (!(await portIsFree(this.port))) throw new Error(`endpoint ${this.name} port ${this.port} is in use by another process`);
    this.server = createServer((client) => this.forward(client));
    this.server.on('error', (e) => this.log.error({ endpoint: this.name, err: e.message }, 'endpoint listener error'));
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  private forward(client: Socket): void {
    const target = this.targets.length ? this.targets[this.next++ % this.targets.length] : undefined;
    if (!target) { client.destroy(); return; }
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); s.on('error', () => { client.destroy(); upstream.destroy(); }); }
    this.sessions.set(client, { target, upstream });
    client.once('close', () => this.sessions.delete(client));
    client.pipe(upstream).pipe(client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}

export class EndpointProxies {
  private readonly forwarders = new Map<string, Forwarder>();
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
          f = new Forwarder(port, this.log, id);
          try { await f.listen(); } catch (e) { this.log.error({ endpoint: id, err: (e as Error).message }, 'cannot open endpoint'); continue; }
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
