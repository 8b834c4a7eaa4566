// Timeline histories in their own Redis hash: bounded to the newest KEEP_TIMELINES, and cleared with the cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisTimelineHistories, KEEP_TIMELINES } from '../../adapters/lease/timeline-histories.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { connectRedis } from '../../adapters/redis/connection.js';
import { stateDir } from '../helpers/cli.js';

let redis: Redis;
let pid: number;
before(async () => {
  const r = await startRedis(new StateDir(stateDir('pgop-timelines-')));
  pid = r.pid;
  redis = connectRedis(r.url);
});
after(async () => { redis.disconnect(); await stopRedis(pid); });

const history = (tl: number) => Array.from({ length: tl - 1 }, (_, i) => `${i + 1}\t0/${(i + 3).toString(16).toUpperCase()}000000\tno recovery target specified`).join('\n') + '\n';

test('only the newest timelines are kept', async () => {
  const h = new RedisTimelineHistories(redis, { namespace: 'default', name: 'busy' });
  for (let tl = 2; tl <= KEEP_TIMELINES + 11; tl++) await h.record(tl, history(tl));
  const kept = Object.keys(await h.all()).map(Number).sort((a, b) => a - b);
  assert.equal(kept.length, KEEP_TIMELINES);
  assert.equal(kept[0], 12, 'timelines 2..11 pruned');
  assert.equal(kept.at(-1), KEEP_TIMELINES + 11);
  assert.equal((await h.all())[20], history(20));
});

test('clearing a cluster forgets its histories and no other cluster\'s', async () => {
  const gone = new RedisTimelineHistories(redis, { namespace: 'default', name: 'gone' });
  const other = new RedisTimelineHistories(redis, { namespace: 'default', name: 'gone-2' });
  await gone.record(2, history(2));
  await other.record(2, history(2));
  await gone.clear();
  assert.deepEqual(await gone.all(), {});
  assert.deepEqual(Object.keys(await other.all()), ['2']);
});
