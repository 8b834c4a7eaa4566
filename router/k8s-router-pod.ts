// `pgop router --kubernetes`: the entrypoint of a cluster's router pods. It reads the ConfigMap the operator writes
// (a sharded cluster's routing table from the ShardRanges, an unsharded cluster's primary as its one `backend`, or for
// the read-only router the ready replicas, which it spreads its connections over through a loopback TCP spreader;
// adapters/k8s/specs/router-objects.ts) and the Secrets it names
// (each shard's CA, the auth password, the router certificate) through the API with the pod's read-only identity,
// writes router.json and those files into the pod's run directory, and runs the router on them. Every few seconds
// it reads the API again; a change rewrites the files and reloads the router in place (clients stay connected).
// Beside it, on the metrics port: /metrics, /readyz (the router listens with a config) and /healthz.
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { Gauge } from 'prom-client';
import { loadKubeConfig, readSecretKey } from '../adapters/k8s/client.js';
import { createLogger } from '../adapters/logging/logger.js';
import { writeFileAtomicIfChanged } from '../adapters/os/atomic-file.js';
import { ROUTER_CONFIG_KEY, ROUTER_METRICS_PORT, ROUTER_PORT, routerName, type RouterPodConfig } from '../adapters/k8s/specs/router-objects.js';
import { TcpSpreader, type Target } from '../adapters/net/tcp-spreader.js';
import { RUN_MOUNT } from '../adapters/k8s/specs/names.js';
import { loadRouterConfig, RouterConfigError } from './config.js';
import { startRouter, type RunningRouter } from './server.js';

const REFRESH_MS = Number(process.env.PGOP_ROUTER_REFRESH_MS ?? 2000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PodEnv { namespace: string; cluster: string; podIP: string; runDir: string; configMap: string }

function podEnv(env: NodeJS.ProcessEnv = process.env): PodEnv {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: \`pgop router --kubernetes\` runs in a Pod of a cluster's router Deployment, which sets it`);
    return v;
  };
  const cluster = need('PGOP_ROUTER_CLUSTER');
  return { namespace: need('POD_NAMESPACE'), cluster, podIP: need('POD_IP'), runDir: env.PGOP_RUN_DIR ?? RUN_MOUNT, configMap: env.PGOP_ROUTER_CONFIGMAP || routerName(cluster) };
}

/** A replica address from the ConfigMap, checked again where it is used: an IP and a TCP port, nothing else. */
export function replicaTarget(t: { host: unknown; port: unknown }, i: number): Target {
  if (typeof t.host !== 'string' || !isIP(t.host)) throw new RouterConfigError(`replicas.targets[${i}].host must be an IP address, not ${JSON.stringify(t.host)}`);
  if (typeof t.port !== 'number' || !Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new RouterConfigError(`replicas.targets[${i}].port must be a TCP port, not ${JSON.stringify(t.port)}`);
  return { host: t.host, port: t.port };
}

/** A shard name ("-80", "80-") as a file name: the key range's hex digits only. */
const caFileName = (shard: string) => `ca${shard.replace(/[^0-9a-f-]/g, '')}.crt`;

/** router.json and the files it names, rendered from the API; each file is written only when it changed. */
export class RouterFiles {
  private readonly core: CoreV1Api;
  readonly configFile: string;
  generation = 0;
  /** The served certificate changed at the last refresh (the router reads it at start only). */
  certificateChanged = false;
  /** The read-only router: the replicas its loopback spreader forwards to, as of the last refresh (null otherwise). */
  replicaTargets: Target[] | null = null;

  /** `spreadPort`: starts the loopback spreader (once) and gives its port, for a read-only router's backend. */
  constructor(private readonly env: PodEnv, private readonly spreadPort: () => Promise<number> = () => Promise.reject(new Error('no spreader'))) {
    this.core = loadKubeConfig().makeApiClient(CoreV1Api);
    this.configFile = join(env.runDir, 'router.json');
  }

  private secret(name: string, key: string): Promise<string> {
    return readSecretKey(this.core, this.env.namespace, name, key);
  }

  private write(name: string, text: string): boolean {
    return writeFileAtomicIfChanged(join(this.env.runDir, name), text, { mode: 0o600 });
  }

  /** Re-reads the API and rewrites the files; true when router.json or a file it names changed. */
  async refresh(): Promise<boolean> {
    const name = this.env.configMap;
    const cm = await this.core.readNamespacedConfigMap({ namespace: this.env.namespace, name });
    const raw = cm.data?.[ROUTER_CONFIG_KEY];
    if (!raw) throw new Error(`ConfigMap ${name} has no ${ROUTER_CONFIG_KEY}`);
    const c = JSON.parse(raw) as RouterPodConfig;
    let changed = false;
    const shards = [];
    for (const s of c.shards) {
      const file = caFileName(s.name);
      changed = this.write(file, await this.secret(s.ca.secret, s.ca.key)) || changed;
      shards.push({ name: s.name, host: s.host, port: s.port, tls: { caFile: join(this.env.runDir, file), servername: s.servername } });
    }
    // An unsharded cluster: one backend (its primary), verified against the cluster's CA; no routing table.
    let backend: { host: string; port: number; tls?: { caFile: string; servername: string }; readOnly?: boolean } = { host: c.shards[0]?.host ?? '127.0.0.1', port: c.shards[0]?.port ?? 5432 };
    if (c.backend) {
      changed = this.write('ca.crt', await this.secret(c.backend.ca.secret, c.backend.ca.key)) || changed;
      backend = { host: c.backend.host, port: c.backend.port, tls: { caFile: join(this.env.runDir, 'ca.crt'), servername: c.backend.servername } };
    }
    // The read-only router: its backend is the loopback spreader over the replicas (the TLS session still ends at
    // the replica, verified by the name every instance certificate carries); the list itself changes no file.
    this.replicaTargets = c.replicas ? c.replicas.targets.map((t, i) => replicaTarget(t, i)) : null;
    if (c.replicas) {
      changed = this.write('ca.crt', await this.secret(c.replicas.ca.secret, c.replicas.ca.key)) || changed;
      backend = { host: '127.0.0.1', port: await this.spreadPort(), readOnly: true, tls: { caFile: join(this.env.runDir, 'ca.crt'), servername: c.replicas.servername } };
    }
    changed = this.write('auth.password', `${await this.secret(c.auth.password.secret, c.auth.password.key)}\n`) || changed;
    const crt = this.write('tls.crt', await this.secret(c.tls.secret, 'tls.crt'));
    const key = this.write('tls.key', await this.secret(c.tls.secret, 'tls.key'));
    this.certificateChanged = crt || key;
    changed = changed || crt || key;
    // The same file format and checks as a router run by hand (router/config.ts); the first shard is the default.
    const body = {
      listen: { host: this.env.podIP, port: ROUTER_PORT },
      backend,
      auth: { user: c.auth.user, passwordFile: join(this.env.runDir, 'auth.password'), database: c.auth.database },
      pool: c.pool,
      tls: { certFile: join(this.env.runDir, 'tls.crt'), keyFile: join(this.env.runDir, 'tls.key'), require: true },
      ...(c.backend || c.replicas ? {} : { sharding: { generation: c.generation, shards, tables: c.tables, referenceTables: c.referenceTables } }),
    };
    changed = this.write('router.json', `${JSON.stringify(body, null, 2)}\n`) || changed;
    this.generation = c.generation;
    return changed;
  }
}

export async function runKubernetesRouter(): Promise<void> {
  const env = podEnv();
  const log = createLogger('router', { cluster: `${env.namespace}/${env.cluster}`, platform: 'kubernetes' });
  mkdirSync(env.runDir, { recursive: true, mode: 0o700 });
  const spreader = new TcpSpreader(0, log, 'read-only replicas');
  const files = new RouterFiles(env, async () => { await spreader.listen(); return spreader.port; });
  let replicasGauge: Gauge | null = null;
  const spread = () => {
    if (!files.replicaTargets) return;
    spreader.setTargets(files.replicaTargets);
    replicasGauge?.set(files.replicaTargets.length);
  };
  let lastProblem = '';
  for (;;) {
    try { await files.refresh(); spread(); break; } catch (e) {
      const problem = (e as Error).message;
      if (problem !== lastProblem) log.warn({ err: problem }, 'router configuration not complete yet; retrying');
      lastProblem = problem;
      await sleep(REFRESH_MS);
    }
  }
  const router: RunningRouter = await startRouter(loadRouterConfig({ config: files.configFile }), log);
  const generation = new Gauge({ name: 'pgop_router_routing_generation', help: 'generation of the routing table the router routes by (the highest ShardRange version)', registers: [router.metrics.registry] });
  generation.set(files.generation);
  if (files.replicaTargets) {
    replicasGauge = new Gauge({ name: 'pgop_router_readonly_replicas', help: 'read-only router: the ready replicas its connections are spread over', registers: [router.metrics.registry] });
    replicasGauge.set(files.replicaTargets.length);
  }

  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      router.metrics.registry.metrics().then((body) => { res.writeHead(200, { 'content-type': router.metrics.registry.contentType }); res.end(body); },
        (e: unknown) => { res.writeHead(500); res.end(String(e)); });
    } else if (req.url === '/readyz' || req.url === '/healthz') { res.writeHead(200); res.end('ok\n'); } else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(ROUTER_METRICS_PORT, env.podIP, resolve); });

  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    files.refresh().then(async (changed) => {
      spread();
      if (!changed) return;
      // A renewed certificate: start again on it (the other router pods keep serving meanwhile).
      if (files.certificateChanged) { log.info('router certificate renewed; restarting'); stop(); return; }
      try {
        await router.reload(loadRouterConfig({ config: files.configFile }));
        generation.set(files.generation);
      } catch (e) {
        // Adding or removing shards cannot be reloaded: exit, and the kubelet starts the pod again on the new table.
        if (e instanceof RouterConfigError && /needs a router restart/.test(e.message)) { log.error({ err: e.message }, 'restarting for a new set of shards'); process.exit(1); }
        throw e;
      }
    }).catch((e: unknown) => log.warn({ err: (e as Error).message }, 'router refresh failed; keeping the running config'))
      .finally(() => { busy = false; });
  }, REFRESH_MS);

  const stop = () => {
    log.info('router stopping');
    clearInterval(timer);
    server.close();
    void spreader.close();
    router.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  log.info({ listen: `${env.podIP}:${ROUTER_PORT}`, metrics: ROUTER_METRICS_PORT, generation: files.generation }, 'router started');
}
