// The SnapshotStore port on Redis, for actors that are not custom resources (their snapshot has no status to live
// in). One key per actor; the envelope is written whole, so a reader never sees half of one.
import type { Redis } from 'ioredis';
import type { SnapshotEnvelope, SnapshotStore } from '../../actors/ports/snapshot-store.js';

const PREFIX = 'pgop:snapshot:';

export class RedisSnapshotStore implements SnapshotStore {
  constructor(private readonly redis: Redis) {}

  async load(id: string): Promise<unknown> {
    const raw = await this.redis.get(PREFIX + id);
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      // Handed to readEnvelope, which refuses it with a reason instead of starting the actor afresh.
      return { unreadable: raw.slice(0, 80) };
    }
  }

  async save(id: string, envelope: SnapshotEnvelope): Promise<void> {
    await this.redis.set(PREFIX + id, JSON.stringify(envelope));
  }

  async remove(id: string): Promise<void> {
    await this.redis.del(PREFIX + id);
  }
}
