// The primary lease in Redis: compare-and-set scripts so acquire, renew, handover and release are atomic, and a
// TTL set by the server, so an unreachable holder loses the lease without anyone's clock deciding it.
import type { Redis } from 'ioredis';
import type { LeaseHolder, LeaseState, PrimaryLease, PrimaryRecord } from './primary-lease.js';
import { LeaseStoreUnreachable } from './primary-lease.js';
import { connectRedis } from '../redis/connection.js';

const SCRIPTS = {
  // KEYS[1] lease; ARGV holder-name, encoded value, ttl
  pgopLeaseAcquire: `
    local cur = redis.call('GET', KEYS[1])
    if (not cur) or string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
      redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]); return ARGV[2]
    end
    return cur`,
  pgopLeaseRenew: `
    local cur = redis.call('GET', KEYS[1])
    if cur and string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
      redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1
    end
    return 0`,
  pgopLeaseHandover: `
    local cur = redis.call('GET', KEYS[1])
    if cur and string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then
      redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]); return 1
    end
    return 0`,
  pgopLeaseRelease: `
    local cur = redis.call('GET', KEYS[1])
    if cur and string.sub(cur, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[1]) end
    return 1`,
} as const;

interface LeaseRedis extends Redis {
  pgopLeaseAcquire(key: string, holder: string, value: string, ttl: number): Promise<string>;
  pgopLeaseRenew(key: string, holder: string, ttl: number): Promise<number>;
  pgopLeaseHandover(key: string, from: string, value: string, ttl: number): Promise<number>;
  pgopLeaseRelease(key: string, holder: string): Promise<number>;
}

const encode = (h: LeaseHolder) => `${h.holder}|${h.host}|${h.port}`;
function decode(v: string | null): LeaseHolder | null {
  if (!v) return null;
  const [holder, host, port] = v.split('|');
  return { holder: holder ?? '', host: host ?? '', port: Number(port) };
}

export class RedisPrimaryLease implements PrimaryLease {
  private readonly redis: LeaseRedis;
  private readonly leaseKey: string;
  private readonly primaryKey: string;

  /** `cut` simulates a network partition from the lease store (drills): every call fails while it returns true. */
  constructor(redis: Redis, cluster: { namespace: string; name: string }, private readonly cut: () => boolean = () => false, private readonly owned = false) {
    for (const [name, lua] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
    this.redis = redis as LeaseRedis;
    this.leaseKey = `pgop:lease:${cluster.namespace}:${cluster.name}`;
    this.primaryKey = `pgop:primary:${cluster.namespace}:${cluster.name}`;
  }

  static async connect(url: string, cluster: { namespace: string; name: string }, cut?: () => boolean): Promise<RedisPrimaryLease> {
    // Fail fast: a lease call that hangs is worse than one that fails, the keeper must decide in time.
    const redis = connectRedis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: 1000, commandTimeout: 1000, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      if (redis.status === 'ready') return resolve();
      const t = setTimeout(resolve, 5000);
      redis.once('ready', () => { clearTimeout(t); resolve(); });
    });
    return new RedisPrimaryLease(redis, cluster, cut, true);
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.cut()) throw new LeaseStoreUnreachable('cut off (drill)');
    try { return await fn(); } catch (e) { throw new LeaseStoreUnreachable((e as Error).message); }
  }

  async acquire(me: LeaseHolder, ttlMs: number) {
    const cur = await this.call(() => this.redis.pgopLeaseAcquire(this.leaseKey, me.holder, encode(me), ttlMs));
    const holder = decode(cur);
    return { acquired: holder?.holder === me.holder, holder };
  }

  async renew(holder: string, ttlMs: number) {
    return (await this.call(() => this.redis.pgopLeaseRenew(this.leaseKey, holder, ttlMs))) === 1;
  }

  async handover(from: string, to: LeaseHolder, ttlMs: number) {
    return (await this.call(() => this.redis.pgopLeaseHandover(this.leaseKey, from, encode(to), ttlMs))) === 1;
  }

  async release(holder: string) { await this.call(() => this.redis.pgopLeaseRelease(this.leaseKey, holder)); }

  async read(): Promise<LeaseState> {
    const [[, value], [, ttl]] = (await this.call(() => this.redis.multi().get(this.leaseKey).pttl(this.leaseKey).exec())) as [[unknown, string | null], [unknown, number]];
    return { holder: decode(value), ttlMs: Math.max(0, ttl) };
  }

  async recordPrimary(record: PrimaryRecord) { await this.call(() => this.redis.set(this.primaryKey, JSON.stringify(record))); }

  async readPrimary(): Promise<PrimaryRecord | null> {
    const raw = await this.call(() => this.redis.get(this.primaryKey));
    return raw ? (JSON.parse(raw) as PrimaryRecord) : null;
  }

  /** The connection, for what shares it (the cluster's timeline histories). */
  get connection(): Redis { return this.redis; }

  async close() { if (this.owned) this.redis.disconnect(); }
}
