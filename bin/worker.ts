// `pgop worker`: BullMQ workers for long-running steps on their own, for scaling them out (the operator runs them
// in-process unless PGOP_WORKERS=external). Stops gracefully on SIGTERM: jobs in hand finish first.
import { createLogger } from '../adapters/logging/logger.js';
import { connectRedis } from '../adapters/redis/connection.js';
import { postgresUser } from '../adapters/os/os-user.js';
import type { PostgresClusterSpec, PostgresClusterStatus } from '../crds/postgrescluster.js';
import { startStepWorker } from '../actors/queues/step-worker.js';
import { openStepsQueue, bullConnection } from '../adapters/queues/steps-queue.js';
import { cloneInstanceProcessor } from '../adapters/implementations/clone-step.js';
import { RedisResourceStore } from '../adapters/local/redis-store.js';
import { StateDir } from '../adapters/local/state-dir.js';
import { LocalPods } from '../adapters/local/pods.js';
import { LocalSecrets } from '../adapters/local/secrets.js';
import { EndpointTable } from '../adapters/local/endpoints.js';
import { LocalPlatform } from '../adapters/local/local-platform.js';

export async function runWorker(stateDirPath: string, concurrency: number): Promise<void> {
  const state = new StateDir(stateDirPath);
  const record = state.readPlatform();
  if (!record) throw new Error(`${state.root} has no platform.json; start with \`pgop local up\``);
  const log = createLogger('worker', { platform: 'local', stateDir: state.root });
  const redis = connectRedis(record.redisUrl, { maxRetriesPerRequest: 3 });
  const store = new RedisResourceStore(redis);
  const pgUser = postgresUser();
  const pods = new LocalPods(state, redis, pgUser, record.dataRoot, log.child({ component: 'pods' }));
  const platform = new LocalPlatform(pods, new LocalSecrets(state), new EndpointTable(redis), pgUser, redis, record.redisUrl);
  const steps = await openStepsQueue(record.redisUrl, log.child({ component: 'queue' }));
  const cluster = async (c: { namespace: string; name: string }) => {
    const r = await store.get({ kind: 'PostgresCluster', namespace: c.namespace, name: c.name });
    if (!r) throw new Error(`PostgresCluster ${c.namespace}/${c.name} not found`);
    return r;
  };
  const worker = startStepWorker({
    connection: bullConnection(record.redisUrl),
    concurrency,
    log,
    processors: {
      cloneInstance: cloneInstanceProcessor({
        platform, log, steps,
        clusterSpec: async (c) => (await cluster(c)).spec as PostgresClusterSpec,
        currentPrimary: async (c) => ((await cluster(c)).status as PostgresClusterStatus | undefined)?.currentPrimary ?? null,
      }),
    },
  });
  log.info({ concurrency }, 'worker started');
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  log.info('worker stopping: finishing jobs in hand');
  await worker.close();
  await steps.queue.close();
  await steps.events.close();
  redis.disconnect();
  log.info('worker stopped');
  log.flush();
  setTimeout(() => process.exit(0), 100);
}
