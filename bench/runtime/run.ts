// bench/runtime: the control plane at N = 10, 100 and 1,000 PostgresClusters held by actors (fake platform, real
// Redis store): memory per resource, snapshot write rate, transition latency, and time to restore every actor
// after a restart. Figures for 100 and 1,000 are printed as ratios against N = 10 measured in the same run.
import { parseArgs } from 'node:util';
import { fromCallback, fromPromise } from 'xstate';
import { clusterMachine } from '../../machines/cluster/cluster.machine.js';
import { createClusterImplementations } from '../../adapters/implementations/cluster.impl.js';
import { ResourceController } from '../../actors/resource-controller.js';
import { postgresClusterBinding } from '../../actors/bindings/postgrescluster.binding.js';
import { RedisResourceStore } from '../../adapters/local/redis-store.js';
import { StateDir } from '../../adapters/local/state-dir.js';
import { startRedis, stopRedis } from '../../adapters/local/redis-server.js';
import { connectRedis } from '../../adapters/redis/connection.js';
import { createLogger } from '../../adapters/logging/logger.js';
import { keyOfResource } from '../../actors/ports/resource-store.js';
import type { ClusterEvent } from '../../machines/cluster/cluster.types.js';
import type { Resource } from '../../crds/definition.js';
import { stateDir } from '../../tests/helpers/cli.js';
import { percentile } from '../stats.js';
import { fakePlatform } from './fake-platform.js';
import type { SlotEffectInput } from '../../machines/instance/instance.types.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '10,100,1000' }, seconds: { type: 'string', default: '5' } } });
const sizes = String(values.sizes).split(',').map(Number);
const seconds = Number(values.seconds);
const quiet = createLogger('bench', {}, { write: () => undefined } as never);

const redisInfo = await startRedis(new StateDir(stateDir('pgop-bench-runtime-')));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function controller(store: RedisResourceStore, writes: { n: number }) {
  const counting = new Proxy(store, { get: (t, p) => (p === 'patchStatus' ? (...a: Parameters<typeof store.patchStatus>) => { writes.n++; return t.patchStatus(...a); } : Reflect.get(t, p)) });
  const deps = { platform: fakePlatform, clusterSpec: async () => ({ instances: 3, primaryUpdateStrategy: 'unsupervised' as const }), currentPrimary: async () => null, log: quiet, steps: { queue: undefined as never, events: undefined as never } };
  const impl = createClusterImplementations(deps);
  // Clones finish at once here: no queue in this benchmark.
  const instance = impl.actors.instance.provide({ actors: {
    cloneInstance: fromCallback(({ sendBack }) => { setImmediate(() => sendBack({ type: 'step.succeeded', result: null })); }),
    reserveReplicationSlot: fromPromise<void, SlotEffectInput>(async () => undefined),
    releaseReplicationSlot: fromPromise<void, SlotEffectInput>(async () => undefined),
  } });
  const machine = clusterMachine.provide({ actors: { ...impl.actors, instance } });
  return new ResourceController(postgresClusterBinding, counting as RedisResourceStore, quiet, { machine });
}

const up = (name: string) => ({ role: name.endsWith('-1') ? 'primary' as const : 'replica' as const, ready: true, timeline: 1, currentLsn: '0/3000000', receiveLsn: null, replayLsn: '0/3000000', bootstrapping: false, failed: null });

interface Row { n: number; heapPerResourceKb: number; rssPerResourceKb: number; writesPerSec: number; p50: number; p99: number; restoreMs: number }

async function measure(n: number): Promise<Row> {
  const redis = connectRedis(redisInfo.url);
  await redis.flushall();
  const store = new RedisResourceStore(redis);
  for (let i = 0; i < n; i++) await store.apply({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name: `c${i}` }, spec: { instances: 3 } });
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const writes = { n: 0 };
  const ctl = controller(store, writes);
  const resources = await store.list('PostgresCluster');
  await ctl.resync(resources);
  // Bring every cluster to Ready: each instance reports in.
  const ready = () => resources.every((r) => ctl.snapshot(keyOfResource(r))?.value === 'ready');
  for (let round = 0; round < 200 && !ready(); round++) {
    for (const r of resources) for (let k = 1; k <= 3; k++) ctl.send(keyOfResource(r), { type: 'instance.reported', instance: `${r.metadata.name}-${k}`, observation: up(`x-${k}`) } as ClusterEvent);
    await sleep(50);
  }
  if (!ready()) {
    const s = ctl.snapshot(keyOfResource(resources[0] as Resource));
    throw new Error(`clusters did not all become Ready: ${JSON.stringify(s?.value)} ${JSON.stringify(s?.context.members)} ${s?.context.lastError}`);
  }
  await sleep(500);
  global.gc?.();
  const rssPerResourceKb = Math.max(0, (process.memoryUsage().rss - rssBefore) / 1024 / n);
  const heapPerResourceKb = Math.max(0, (process.memoryUsage().heapUsed - heapBefore) / 1024 / n);
  // Transition latency: an instance lost and found again, send → the actor's snapshot shows it.
  const latencies: number[] = [];
  writes.n = 0;
  const started = Date.now();
  let i = 0;
  while (Date.now() - started < seconds * 1000) {
    const r = resources[i++ % n] as Resource;
    const key = keyOfResource(r);
    const t0 = process.hrtime.bigint();
    ctl.send(key, { type: 'instance.lost', instance: `${r.metadata.name}-2`, reason: 'bench' } as ClusterEvent);
    if (ctl.snapshot(key)?.value !== 'degraded') throw new Error('no transition');
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    ctl.send(key, { type: 'instance.reported', instance: `${r.metadata.name}-2`, observation: up('x-2') } as ClusterEvent);
    if (i % 50 === 0) await sleep(1);
  }
  await sleep(500);
  const writesPerSec = writes.n / seconds;
  await ctl.stopAll();
  // Restart: a new controller restores every actor from its persisted snapshot.
  const again = controller(store, { n: 0 });
  const t0 = Date.now();
  await again.resync(await store.list('PostgresCluster'));
  const restoreMs = Date.now() - t0;
  if (again.size !== n) throw new Error(`restored ${again.size} of ${n}`);
  await again.stopAll();
  redis.disconnect();
  return { n, heapPerResourceKb, rssPerResourceKb, writesPerSec, p50: percentile(latencies, 50), p99: percentile(latencies, 99), restoreMs };
}

const rows: Row[] = [];
for (const n of sizes) { rows.push(await measure(n)); process.stdout.write(`measured N=${n}\n`); }
const base = rows[0] as Row;
const r = (v: number, b: number) => (b ? `${(v / b).toFixed(2)}x` : 'n/a');
process.stdout.write('\n     N   heap/resource        RSS/resource   snapshot writes/s   transition p50   p99        restore all   (ratios vs N=' + base.n + ')\n');
for (const x of rows) {
  process.stdout.write(`${String(x.n).padStart(6)}   ${x.heapPerResourceKb.toFixed(1).padStart(7)} KiB (${r(x.heapPerResourceKb, base.heapPerResourceKb)})   ${x.rssPerResourceKb.toFixed(1).padStart(7)} KiB (${r(x.rssPerResourceKb, base.rssPerResourceKb)})   ${x.writesPerSec.toFixed(0).padStart(6)} (${r(x.writesPerSec, base.writesPerSec)})   ${x.p50.toFixed(3)} ms (${r(x.p50, base.p50)})   ${x.p99.toFixed(3)} ms (${r(x.p99, base.p99)})   ${x.restoreMs} ms (${r(x.restoreMs / x.n, base.restoreMs / base.n)} per actor)\n`);
}
await stopRedis(redisInfo.pid);
process.exit(0);
