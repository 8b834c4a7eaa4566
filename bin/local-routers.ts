// One observation round of the local routers: every sharded cluster with Ready ShardRanges and reachable shard
// endpoints gets a `pgop router` configured from its ShardRanges; a routing change (new ShardRange version, moved
// endpoint) rewrites the config and restarts the router; a deleted cluster's router is stopped. An unsharded
// cluster with spec.router.enabled gets the same process with `backend` instead of `sharding` (ADR 0034): its -rw
// endpoint, which already follows failovers and switchovers and cuts sessions to a fenced old primary.
// With spec.router.readOnly a second process (key <cluster>.ro, ADR 0043) has the -ro endpoint as its backend, in
// read-only mode: the endpoint spreads connections over the ready replicas and follows them as they come and go.
// The router looks up verifiers as pgop_router (ADR 0039), a least-privilege role this round ensures on the primary
// of the cluster whose roles check logins; its password is a file beside that cluster's other secrets.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ResourceReader } from '../actors/ports/resource-store.js';
import type { PostgresCluster } from '../crds/postgrescluster.js';
import type { ShardRange } from '../crds/shardrange.js';
import { shardsOf } from '../crds/sharding.js';
import { readOnlyRouterKey, type LocalRouters } from '../adapters/local/routers.js';
import type { EndpointTable } from '../adapters/local/endpoints.js';
import type { LocalSecrets } from '../adapters/local/secrets.js';
import type { StateDir } from '../adapters/local/state-dir.js';
import { localTlsFiles } from '../adapters/certs/local-certificates.js';
import { SUPERUSER } from '../adapters/instance/spec.js';
import { ensureRouterAuth, ROUTER_AUTH_DATABASE, ROUTER_AUTH_USER } from '../adapters/router/router-auth-sql.js';
import { createFileAtomic } from '../adapters/os/atomic-file.js';
import { shardingFromShardRanges, type ShardEndpoint } from '../router/shard-map-source.js';
import type { Logger } from '../adapters/logging/logger.js';

/** spec.router.poolSize's default here: one router process beside every instance on one machine. */
const LOCAL_POOL_SIZE = 10;

export interface RouterSyncDeps { store: ResourceReader; routers: LocalRouters; endpoints: EndpointTable; secrets: LocalSecrets; state: StateDir; log: Logger }

export async function syncLocalRouters(d: RouterSyncDeps): Promise<void> {
  const clusters = (await d.store.list('PostgresCluster')) as PostgresCluster[];
  const ranges = (await d.store.list('ShardRange')) as ShardRange[];
  const wanted = new Set<string>();
  for (const c of clusters) {
    const sharding = c.spec.sharding;
    if (c.metadata.deletionTimestamp) continue;
    const ns = c.metadata.namespace ?? 'default';
    const name = c.metadata.name;
    if (!sharding) {
      if (!c.spec.router?.enabled) continue;
      wanted.add(`${ns}/${name}`);
      if (c.spec.router.readOnly) wanted.add(`${ns}/${readOnlyRouterKey(name)}`);
      await ensureUnsharded(d, ns, name, c.spec.router.readOnly === true, c.spec.router.poolSize ?? LOCAL_POOL_SIZE);
      continue;
    }
    wanted.add(`${ns}/${name}`);
    const shards = shardsOf(name, sharding);
    const eps = new Map<string, ShardEndpoint>();
    for (const s of shards) {
      const ep = await d.endpoints.get(ns, s.cluster);
      if (ep) eps.set(s.shard, { host: '127.0.0.1', port: ep.readWrite, caFile: localTlsFiles(d.state, ns, s.cluster).caFile });
    }
    const mine = ranges.filter((r) => (r.metadata.namespace ?? 'default') === ns && r.spec.cluster.name === name);
    let section;
    try {
      section = shardingFromShardRanges(mine, (shard) => eps.get(shard));
    } catch (e) {
      d.log.warn({ cluster: `${ns}/${name}`, err: (e as Error).message }, 'cannot configure the router');
      continue;
    }
    if (!section || mine.length !== sharding.tableGroups.length) continue;
    // Logins are checked against the first shard's roles (the router's auth query); clients get its certificate.
    const first = shards[0]!.cluster;
    const firstEp = await d.endpoints.get(ns, first);
    const password = firstEp ? await lookupRole(d, ns, first, firstEp.readWrite) : null;
    if (!password) continue;
    const tls = localTlsFiles(d.state, ns, first);
    await d.routers.ensure(ns, name, {
      auth: { user: ROUTER_AUTH_USER, password, database: ROUTER_AUTH_DATABASE },
      tls: { certFile: tls.certFile, keyFile: tls.keyFile, require: true },
      pool: { size: c.spec.router?.poolSize ?? LOCAL_POOL_SIZE },
      sharding: section,
    });
  }
  for (const r of d.routers.list()) if (!wanted.has(`${r.namespace}/${r.cluster}`)) await d.routers.remove(r.namespace, r.cluster);
}

/** The router of an unsharded cluster: logins checked against its own roles, clients served its own certificate. */
async function ensureUnsharded(d: RouterSyncDeps, ns: string, name: string, readOnly: boolean, poolSize: number): Promise<void> {
  const ep = await d.endpoints.get(ns, name);
  if (!ep) return;
  const password = await lookupRole(d, ns, name, ep.readWrite);
  if (!password) return;
  const tls = localTlsFiles(d.state, ns, name);
  const common = {
    auth: { user: ROUTER_AUTH_USER, password, database: ROUTER_AUTH_DATABASE },
    tls: { certFile: tls.certFile, keyFile: tls.keyFile, require: true },
    pool: { size: poolSize },
  };
  // The endpoints' 127.0.0.1 is in the server certificate: verify-full against the cluster's CA.
  await d.routers.ensure(ns, name, { ...common, backend: { host: '127.0.0.1', port: ep.readWrite, tls: { caFile: tls.caFile, servername: '127.0.0.1' } } });
  // The lookup role, made on the primary, reaches the replicas by streaming replication; logins are checked there.
  if (readOnly) {
    await d.routers.ensure(ns, readOnlyRouterKey(name), { ...common,
      backend: { host: '127.0.0.1', port: ep.readOnly, tls: { caFile: tls.caFile, servername: '127.0.0.1' }, readOnly: true } });
  }
}

/** How often the lookup role is checked on a primary that did not move (someone may have dropped or altered it). */
const LOOKUP_ROLE_CHECK_MS = 60_000;
const lookupRoleCheckedAt = new Map<string, number>();
const lookupRoleWarnedAt = new Map<string, number>();

/**
 * The router's lookup role on `cluster`'s primary (reached on its -rw port as the superuser, verify-full against the
 * cluster's CA): its password (generated once per cluster), or null while it cannot be ensured (retried next round).
 */
async function lookupRole(d: RouterSyncDeps, ns: string, cluster: string, rwPort: number): Promise<string | null> {
  const dir = d.state.secretsDir(ns, cluster);
  if (!existsSync(dir)) return null;
  const file = join(dir, 'router.password');
  // Atomic create-if-missing: two operator processes racing agree on one value.
  if (!existsSync(file)) createFileAtomic(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  const password = readFileSync(file, 'utf8').trim();
  const key = `${ns}/${cluster}:${rwPort}:${password}`;
  if (Date.now() - (lookupRoleCheckedAt.get(key) ?? 0) < LOOKUP_ROLE_CHECK_MS) return password;
  try {
    const tls = localTlsFiles(d.state, ns, cluster);
    const superuser = d.secrets.read(ns, cluster, 'superuser');
    const done = await ensureRouterAuth({ host: '127.0.0.1', port: rwPort, user: SUPERUSER, password: superuser,
      ...(existsSync(tls.caFile) ? { tls: { caFile: tls.caFile, serverName: '127.0.0.1' } } : {}) }, password);
    if (done === 'created') d.log.info({ cluster: `${ns}/${cluster}`, role: ROUTER_AUTH_USER }, 'router lookup role and function ensured');
  } catch (e) {
    // Expected while the primary starts: warned once a minute, retried every round.
    const warned = lookupRoleWarnedAt.get(`${ns}/${cluster}`) ?? 0;
    if (Date.now() - warned > LOOKUP_ROLE_CHECK_MS) {
      lookupRoleWarnedAt.set(`${ns}/${cluster}`, Date.now());
      d.log.warn({ cluster: `${ns}/${cluster}`, err: (e as Error).message }, 'cannot ensure the router lookup role yet; retried next round');
    }
    return null;
  }
  for (const k of lookupRoleCheckedAt.keys()) if (k.startsWith(`${ns}/${cluster}:`)) lookupRoleCheckedAt.delete(k);
  lookupRoleCheckedAt.set(key, Date.now());
  return password;
}
