// Leader election for operator replicas: only the leader runs actors. A Redis key with a server-side TTL on the
// local platform; a Kubernetes Lease implements the same interface. A leader that cannot renew steps down before
// its lease can expire, so two leaders never act at once.
import type { Redis } from 'ioredis';

export interface LeaderElector {
  readonly identity: string;
  /** Resolves once this process leads. */
  acquire(signal: AbortSignal): Promise<void>;
  /** Keeps the lease; calls `lost` (once) when it can no longer be sure it leads. */
  hold(lost: (why: string) => void): () => void;
  release(): Promise<void>;
  current(): Promise<string | null>;
}

const RENEW = `
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return 1 end
  return 0`;
const RELEASE = `
  if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 1`;

interface LeaderRedis extends Redis {
  pgopLeaderRenew(key: string, id: string, ttl: number): Promise<number>;
  pgopLeaderRelease(key: string, id: string): Promise<number>;
}

export class RedisLeaderElector implements LeaderElector {
  private readonly redis: LeaderRedis;

  constructor(redis: Redis, readonly identity: string, private readonly ttlMs = 5000, private readonly key = 'pgop:operator-leader') {
    if (!('pgopLeaderRenew' in redis)) redis.defineCommand('pgopLeaderRenew', { numberOfKeys: 1, lua: RENEW });
    if (!('pgopLeaderRelease' in redis)) redis.defineCommand('pgopLeaderRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as LeaderRedis;
  }

  async acquire(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const ok = await this.redis.set(this.key, this.identity, 'PX', this.ttlMs, 'NX').catch(() => null);
      if (ok === 'OK' || (await this.current().catch(() => null)) === this.identity) return;
      await new Promise((r) => setTimeout(r, Math.min(1000, this.ttlMs / 4)));
    }
    throw new Error('stopped before becoming leader');
  }

  hold(lost: (why: string) => void): () => void {
    let lastOk = Date.now();
    let done = false;
    const step = async () => {
      const sentAt = Date.now();
      try {
        if ((await this.redis.pgopLeaderRenew(this.key, this.identity, this.ttlMs)) === 1) { lastOk = sentAt; return; }
        // The key is gone or names another: either way this process may no longer act.
        const holder = await this.current().catch(() => null);
        finish(holder ? `another operator (${holder}) holds the leader lease` : `the leader lease lapsed before it was renewed (this process was stalled for more than ${this.ttlMs} ms)`);
      } catch (e) {
        if (Date.now() - lastOk > this.ttlMs * 0.7) finish(`could not renew the leader lease: ${(e as Error).message}`);
      }
    };
    const timer = setInterval(() => { void step(); }, Math.max(200, this.ttlMs / 5));
    const finish = (why: string) => { if (done) return; done = true; clearInterval(timer); lost(why); };
    return () => { done = true; clearInterval(timer); };
  }

  async release(): Promise<void> { await this.redis.pgopLeaderRelease(this.key, this.identity).catch(() => undefined); }

  async current(): Promise<string | null> { return this.redis.get(this.key); }
}
