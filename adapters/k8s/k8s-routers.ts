// The routers of sharded clusters on Kubernetes, level-triggered on the operator's observation beat: a sharded
// cluster whose ShardRanges are Ready and whose shards have primaries gets the router's ConfigMap (the routing
// table), its certificate, identity, Deployment, Service and NetworkPolicy; the pods re-read the ConfigMap every
// few seconds and reload in place, so a routing change or a failover (new primary IP) needs no rollout. A cluster
// being deleted, gone, or no longer sharded loses its router objects here too (owner references would let the
// garbage collector do it, but removal must not depend on it). An unsharded cluster with spec.router.enabled gets the
// same with its primary as the one backend, and with readOnly a second set over its ready replicas (ADR 0034, 0043).
// Status: status.router and the RouterReady condition.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ResourceKey, ResourceStore } from '../../actors/ports/resource-store.js';
import type { PostgresCluster, PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ShardRange } from '../../crds/shardrange.js';
import { shardsOf } from '../../crds/sharding.js';
import { API_VERSION } from '../../crds/definition.js';
import type { Logger } from '../logging/logger.js';
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../sql/connect.js';
import type { ClusterRef } from '../../machines/instance/instance.types.js';
import { ensureRouterAuth, ROUTER_AUTH_DATABASE, ROUTER_AUTH_USER } from '../router/router-auth-sql.js';
import { K8sObjects } from './objects.js';
import { LABEL, type Owner } from './specs/labels.js';
import { POSTGRES_PORT, caKeySecretName, tlsSources } from './specs/names.js';
import {
  ROUTER_PORT, ROUTER_POOL_SIZE, ROUTER_REPLICAS, readOnlyRouterName, readOnlyRouterObjectRefs, routerConfigMap, routerDeployment, routerIdentity, routerName, routerNetworkPolicy, routerObjectRefs,
  routerServerNames, routerService, routerTlsSecret, routerTlsSecretName, routerAuthSecret, routerAuthSecretName, type RouterPlacement, type RouterPodConfig,
} from './specs/router-objects.js';
import { anyInstanceName, renewalDecision, type TlsPolicy } from '../certs/tls-policy.js';
import { x509Builders } from '../certs/local-certificates.js';

/** The routing table derived from ShardRanges (router/shard-map-source.ts; injected: adapters/ does not import router/). */
export interface ShardMapSection {
  generation: number;
  shards: { name: string; host: string; port: number; tls: { caFile: string; servername: string } }[];
  tables: Record<string, { column: string; type: 'integer' | 'text' }>;
}
type ShardEndpoint = { host: string; port: number; caFile: string; servername?: string };
export type ShardMap = (ranges: ShardRange[], endpoint: (shard: string) => ShardEndpoint | undefined) => ShardMapSection | null;

export interface RouterStatus {
  endpoint: string;
  /** The Secret whose ca.crt verifies the router's certificate (the first shard's CA). */
  caSecret: string;
  replicas: number;
  readyReplicas: number;
  /** The routing table's generation in the ConfigMap (the highest ShardRange version). */
  generation?: number;
  /** An unsharded cluster's read-only router (spec.router.readOnly, ADR 0043). */
  readOnly?: ReadOnlyRouterStatus;
}
export interface ReadOnlyRouterStatus {
  endpoint: string;
  replicas: number;
  readyReplicas: number;
  /** The streaming replicas it spreads over now (pod IPs in its ConfigMap). */
  backends: string[];
}
interface RouterCondition { type: 'RouterReady'; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime: string }
interface Observed { router: RouterStatus; condition: RouterCondition }

interface Meta { metadata: { uid?: string; deletionTimestamp?: Date }; apiVersion: string; kind: string }
interface PodLike extends Meta { metadata: Meta['metadata'] & { labels?: Record<string, string> }; status?: { podIP?: string; conditions?: { type: string; status: string }[] } }
interface DeploymentLike extends Meta { status?: { readyReplicas?: number; replicas?: number } }
interface SecretLike extends Meta { data?: Record<string, string> }

const decode = (s: SecretLike | undefined, key: string) => (s?.data?.[key] ? Buffer.from(s.data[key], 'base64').toString('utf8') : null);
const CERT_CHECK_MS = 10_000;
/** How often the lookup role is checked on a primary that did not change (someone may have dropped or altered it). */
const LOOKUP_ROLE_CHECK_MS = 60_000;

/** A superuser connection to an instance (the platform's), to ensure the router's lookup role on the first shard's primary. */
export type SuperuserEndpoint = (cluster: ClusterRef, instance: string) => Promise<Endpoint>;

/** Sharded clusters always have a router; unsharded ones when spec.router.enabled. */
const wantsRouter = (c: PostgresCluster) => !!c.spec.sharding || !!c.spec.router?.enabled;

export class K8sRouters {
  private readonly objects: K8sObjects;
  private readonly last = new Map<string, Observed>();
  /** Sharded clusters whose router objects exist (as far as this leader knows): removed when the cluster goes. */
  private readonly known = new Set<string>();
  private readonly certCheckedAt = new Map<string, number>();
  /** Deleted clusters (by uid) whose router objects are already gone: not deleted again on every beat. */
  private readonly removedUids = new Set<string>();
  /** `<ns>/<cluster>` → the primary and time the lookup role was last ensured on. */
  private readonly lookupRoleAt = new Map<string, { primary: string; at: number }>();
  private readonly lookupRoleWarnedAt = new Map<string, number>();
  /** Clusters whose read-only router objects exist (as far as this leader knows): removed when readOnly goes. */
  private readonly readOnlyKnown = new Set<string>();
  private readonly readOnlyChecked = new Set<string>();
  private ranAt = 0;

  /** `superuser` null: the lookup role is not ensured (tests of the objects alone, without PostgreSQL). */
  constructor(kc: KubeConfig, private readonly store: ResourceStore, private readonly shardMap: ShardMap, private readonly image: string,
    private readonly policy: TlsPolicy, private readonly log: Logger, private readonly everyMs = Number(process.env.PGOP_ROUTER_SYNC_MS ?? 2000),
    private readonly superuser: SuperuserEndpoint | null = null) {
    this.objects = new K8sObjects(kc);
  }

  /** What the cluster's status carries from the router (merged into the cluster actor's status writes). */
  statusOf(key: ResourceKey): Record<string, unknown> {
    const o = this.last.get(`${key.namespace}/${key.name}`);
    return o ? { router: o.router, conditions: [o.condition] } : {};
  }

  async tick(): Promise<void> {
    if (Date.now() - this.ranAt < this.everyMs) return;
    this.ranAt = Date.now();
    const clusters = (await this.store.list('PostgresCluster')) as PostgresCluster[];
    const ranges = (await this.store.list('ShardRange')) as ShardRange[];
    const wanted = new Set<string>();
    for (const c of clusters) {
      const ns = c.metadata.namespace ?? 'default';
      const id = `${ns}/${c.metadata.name}`;
      if (!wantsRouter(c) || c.metadata.deletionTimestamp || !c.metadata.uid) continue;
      wanted.add(id);
      try {
        if (c.spec.sharding) await this.sync(c, ranges.filter((r) => (r.metadata.namespace ?? 'default') === ns && r.spec.cluster.name === c.metadata.name));
        else await this.syncUnsharded(c);
      } catch (e) {
        this.log.warn({ cluster: id, err: (e as Error).message }, 'router sync failed; retried next beat');
      }
    }
    // A deleted cluster's router goes at once (the cluster waits for its shards; the router must not outlive them),
    // even one this leader never applied (it took over mid-deletion): once per deleted cluster.
    for (const c of clusters) {
      const id = `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;
      const deleting = wantsRouter(c) && !!c.metadata.deletionTimestamp && !this.removedUids.has(c.metadata.uid ?? '');
      if (!wanted.has(id) && (this.known.has(id) || deleting)) {
        if (await this.remove(c.metadata.namespace ?? 'default', c.metadata.name, id) && c.metadata.deletionTimestamp) this.removedUids.add(c.metadata.uid ?? '');
      }
    }
    for (const id of this.known) if (!wanted.has(id)) { const [ns = '', name = ''] = id.split('/'); await this.remove(ns, name, id); }
    const live = new Set(clusters.map((c) => c.metadata.uid));
    for (const uid of this.removedUids) if (!live.has(uid)) this.removedUids.delete(uid);
  }

  /** Deletes every router object of the cluster; false when that failed (retried next beat). */
  private async remove(namespace: string, cluster: string, id: string): Promise<boolean> {
    try {
      for (const [apiVersion, kind, name] of routerObjectRefs(cluster)) await this.objects.delete(apiVersion, kind, namespace, name);
      if (this.known.delete(id)) this.log.info({ cluster: id }, 'router objects removed');
      this.readOnlyKnown.delete(id);
      this.last.delete(id);
      this.certCheckedAt.delete(id);
      this.lookupRoleAt.delete(id);
      this.lookupRoleWarnedAt.delete(id);
      return true;
    } catch (e) {
      this.log.warn({ cluster: id, err: (e as Error).message }, 'removing the router failed; retried next beat');
      return false;
    }
  }

  private async sync(c: PostgresCluster, ranges: ShardRange[]): Promise<void> {
    const namespace = c.metadata.namespace ?? 'default';
    const cluster = c.metadata.name;
    const sharding = c.spec.sharding!;
    const owner: Owner = { apiVersion: API_VERSION, kind: 'PostgresCluster', name: cluster, uid: c.metadata.uid! };
    const shards = shardsOf(cluster, sharding);
    const first = shards[0]!.cluster;
    const specs = new Map<string, PostgresClusterSpec>();
    const endpoints = new Map<string, ShardEndpoint>();
    const cas = new Map<string, { secret: string; key: string }>();
    let firstPrimary: string | undefined;
    for (const s of shards) {
      const shard = (await this.store.get({ kind: 'PostgresCluster', namespace, name: s.cluster })) as PostgresCluster | undefined;
      if (!shard) continue;
      specs.set(s.cluster, shard.spec);
      if (s.cluster === first) firstPrimary = shard.status?.currentPrimary;
      const src = tlsSources(s.cluster, shard.spec.certificates);
      cas.set(s.shard, { secret: src.ca, key: src.caKey });
      const primary = shard.status?.currentPrimary;
      const pod = primary ? await this.objects.read<PodLike>('v1', 'Pod', namespace, primary) : undefined;
      const ip = pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
      // caFile carries the shard's name; the pods map it to the file they write from the CA Secret.
      if (ip) endpoints.set(s.shard, { host: ip, port: POSTGRES_PORT, caFile: s.shard, servername: anyInstanceName(s.cluster, namespace) });
    }
    const section = ranges.length === sharding.tableGroups.length ? this.shardMap(ranges, (shard) => endpoints.get(shard)) : null;
    const placement = this.placement(c, owner);
    const firstSpec = specs.get(first);
    const config = section && firstSpec ? {
      cluster, generation: section.generation,
      shards: section.shards.map((s) => ({ name: s.name, host: s.host, port: s.port, servername: s.tls.servername, ca: cas.get(s.name)! })),
      tables: section.tables,
      referenceTables: sharding.referenceTables ?? [],
    } : null;
    await this.publish(placement, first, firstSpec, firstPrimary, config,
      'the router starts once every ShardRange is Ready and every shard has a primary', 'WaitingForShards');
  }

  /** Where and how big: spec.router.replicas and poolSize (a sharded cluster's too), else the defaults. */
  private placement(c: PostgresCluster, owner: Owner): RouterPlacement {
    return {
      cluster: c.metadata.name, namespace: c.metadata.namespace ?? 'default', image: this.image, owner,
      replicas: c.spec.router?.replicas ?? ROUTER_REPLICAS, poolSize: c.spec.router?.poolSize ?? ROUTER_POOL_SIZE,
    };
  }

  /**
   * An unsharded cluster with spec.router.enabled (ADR 0034): the same objects, with its primary as the router's one
   * backend instead of a routing table; a failover's new primary IP reaches the pods through the ConfigMap, as a
   * shard's does.
   */
  private async syncUnsharded(c: PostgresCluster): Promise<void> {
    const namespace = c.metadata.namespace ?? 'default';
    const cluster = c.metadata.name;
    const owner: Owner = { apiVersion: API_VERSION, kind: 'PostgresCluster', name: cluster, uid: c.metadata.uid! };
    const primary = c.status?.currentPrimary;
    const pod = primary ? await this.objects.read<PodLike>('v1', 'Pod', namespace, primary) : undefined;
    const ip = pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
    const src = tlsSources(cluster, c.spec.certificates);
    const config = ip ? {
      cluster, generation: 0, shards: [], tables: {}, referenceTables: [],
      // verify-full against the cluster's CA by the any-instance Service name, which every instance's certificate
      // carries from its first issue (a new pod IP joins the certificate only at the next renewal beat).
      backend: { host: ip, port: POSTGRES_PORT, servername: anyInstanceName(cluster, namespace), ca: { secret: src.ca, key: src.caKey } },
    } : null;
    const placement = this.placement(c, owner);
    const readOnly = c.spec.router?.readOnly ? await this.syncReadOnly(c, placement) : await this.removeReadOnly(namespace, cluster);
    await this.publish(placement, cluster, c.spec, primary, config,
      'the router starts once the cluster has a primary', 'WaitingForPrimary', readOnly);
  }

  /**
   * The read-only router (ADR 0043): `<cluster>-router-ro`, the same objects with the ready streaming replicas as
   * its backends (the pods the -ro Service selects: labelled replica by the operator, Ready, not being deleted, and
   * reported ready by their agents); the pods spread their connections over them and follow the list on every
   * refresh. It shares the read-write router's certificate (which names both Services) and lookup role.
   */
  private async syncReadOnly(c: PostgresCluster, rw: RouterPlacement): Promise<ReadOnlyRouterStatus> {
    const { namespace, cluster } = rw;
    const placement: RouterPlacement = { ...rw, readOnly: true };
    const targets: { host: string; port: number }[] = [];
    const backends: string[] = [];
    for (const i of c.status?.instances ?? []) {
      if (i.role !== 'replica' || !i.ready) continue;
      const pod = await this.objects.read<PodLike>('v1', 'Pod', namespace, i.name);
      const ready = pod?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
      if (!pod?.status?.podIP || pod.metadata.deletionTimestamp || pod.metadata.labels?.[LABEL.role] !== 'replica' || !ready) continue;
      targets.push({ host: pod.status.podIP, port: POSTGRES_PORT });
      backends.push(i.name);
    }
    const src = tlsSources(cluster, c.spec.certificates);
    const tlsSecret = await this.certificate(rw, cluster, c.spec);
    const config: RouterPodConfig = {
      cluster, generation: 0, shards: [], tables: {}, referenceTables: [],
      replicas: { targets, servername: anyInstanceName(cluster, namespace), ca: { secret: src.ca, key: src.caKey } },
      auth: { user: ROUTER_AUTH_USER, database: ROUTER_AUTH_DATABASE, password: { secret: routerAuthSecretName(cluster), key: 'password' } },
      tls: { secret: tlsSecret },
      pool: { size: placement.poolSize },
    };
    await this.objects.applyAll([...routerIdentity(placement, config), routerConfigMap(placement, config), routerDeployment(placement), routerService(placement), routerNetworkPolicy(placement)]);
    const id = `${namespace}/${cluster}`;
    if (!this.readOnlyKnown.has(id)) this.log.info({ cluster: id, backends }, 'read-only router objects applied');
    this.readOnlyKnown.add(id);
    const dep = await this.objects.read<DeploymentLike>('apps/v1', 'Deployment', namespace, readOnlyRouterName(cluster));
    return { endpoint: `${readOnlyRouterName(cluster)}.${namespace}.svc:${ROUTER_PORT}`, replicas: placement.replicas, readyReplicas: dep?.status?.readyReplicas ?? 0, backends };
  }

  /** spec.router.readOnly turned off (or never on): its objects go; the read-write router's stay. */
  private async removeReadOnly(namespace: string, cluster: string): Promise<undefined> {
    const id = `${namespace}/${cluster}`;
    // Once per cluster for a new leader too: readOnly may have been turned off while no operator ran.
    if (!this.readOnlyKnown.has(id) && this.readOnlyChecked.has(id)) return undefined;
    this.readOnlyChecked.add(id);
    for (const [apiVersion, kind, name] of readOnlyRouterObjectRefs(cluster)) await this.objects.delete(apiVersion, kind, namespace, name);
    if (this.readOnlyKnown.delete(id)) this.log.info({ cluster: id }, 'read-only router objects removed');
    return undefined;
  }

  /**
   * Applies the router objects for a routing config (null: keep the last ConfigMap, e.g. during a failover) and
   * records status.router and RouterReady. `first` is the cluster whose roles check logins and whose CA issues the
   * router certificate: the first shard, or the unsharded cluster itself.
   */
  private async publish(placement: RouterPlacement, first: string, firstSpec: PostgresClusterSpec | undefined, firstPrimary: string | undefined,
    routing: Omit<RouterPodConfig, 'auth' | 'tls' | 'pool'> | null, waiting: string, waitingReason: string, readOnly?: ReadOnlyRouterStatus): Promise<void> {
    const { cluster, namespace } = placement;
    const id = `${namespace}/${cluster}`;
    let generation: number | undefined;
    if (routing && firstSpec) {
      const tlsSecret = await this.certificate(placement, first, firstSpec);
      await this.lookupRole(placement, first, firstPrimary);
      const config: RouterPodConfig = {
        ...routing,
        auth: { user: ROUTER_AUTH_USER, database: ROUTER_AUTH_DATABASE, password: { secret: routerAuthSecretName(cluster), key: 'password' } },
        tls: { secret: tlsSecret },
        pool: { size: placement.poolSize },
      };
      await this.objects.applyAll([...routerIdentity(placement, config), routerConfigMap(placement, config), routerDeployment(placement), routerService(placement), routerNetworkPolicy(placement)]);
      if (!this.known.has(id)) this.log.info({ cluster: id, generation: config.generation }, 'router objects applied');
      this.known.add(id);
      generation = config.generation;
    } else {
      // Keep the last routing table while a ShardRange is being updated or a shard has no primary (failover).
      const cm = await this.objects.read<Meta & { data?: Record<string, string> }>('v1', 'ConfigMap', namespace, routerName(cluster));
      const raw = cm?.data?.['router.json'];
      if (raw) { this.known.add(id); generation = (JSON.parse(raw) as RouterPodConfig).generation; }
    }
    const dep = await this.objects.read<DeploymentLike>('apps/v1', 'Deployment', namespace, routerName(cluster));
    const ready = dep?.status?.readyReplicas ?? 0;
    const router: RouterStatus = {
      endpoint: `${routerName(cluster)}.${namespace}.svc:${ROUTER_PORT}`, caSecret: firstSpec ? tlsSources(first, firstSpec.certificates).ca : `${first}-ca`,
      replicas: dep ? placement.replicas : 0, readyReplicas: ready, ...(generation !== undefined ? { generation } : {}), ...(readOnly ? { readOnly } : {}),
    };
    const ro = readOnly ? `; read-only router ${readOnly.readyReplicas}/${readOnly.replicas} pods ready over ${readOnly.backends.length ? `replicas ${readOnly.backends.join(', ')}` : 'no ready replica (logins get 57P03)'}` : '';
    const [status, reason, message] = !dep
      ? ['False', waitingReason, waiting] as const
      : ready < 1 ? ['False', 'NoReadyRouter', `0/${placement.replicas} router pods ready${ro}`] as const
        : ['True', 'RouterReady', `${ready}/${placement.replicas} router pods ready, routing table generation ${generation ?? '?'}${ro}`] as const;
    await this.record({ kind: 'PostgresCluster', namespace, name: cluster }, router, { type: 'RouterReady', status, reason, message });
  }

  /**
   * The lookup role pgop_router (ADR 0039) on the first shard's primary, with the password of the router's auth
   * Secret (generated once). A failure is logged and retried next beat; the objects are applied meanwhile (the
   * pods' logins fail until the role exists, as they would while the primary is away).
   */
  private async lookupRole(p: RouterPlacement, first: string, primary: string | undefined): Promise<void> {
    const id = `${p.namespace}/${p.cluster}`;
    await this.objects.createIfMissing(routerAuthSecret(p, ROUTER_AUTH_USER, randomBytes(18).toString('base64url')));
    if (!this.superuser || !primary) return;
    const last = this.lookupRoleAt.get(id);
    if (last && last.primary === primary && Date.now() - last.at < LOOKUP_ROLE_CHECK_MS) return;
    try {
      const password = decode(await this.objects.read<SecretLike>('v1', 'Secret', p.namespace, routerAuthSecretName(p.cluster)), 'password');
      if (!password) throw new Error(`Secret ${p.namespace}/${routerAuthSecretName(p.cluster)} has no password`);
      const done = await ensureRouterAuth(await this.superuser({ namespace: p.namespace, name: first }, primary), password);
      if (done === 'created') this.log.info({ cluster: id, on: `${first}/${primary}`, role: ROUTER_AUTH_USER }, 'router lookup role and function ensured');
      this.lookupRoleAt.set(id, { primary, at: Date.now() });
    } catch (e) {
      // Expected while the primary starts or moves: warned once a minute, retried every beat.
      if (Date.now() - (this.lookupRoleWarnedAt.get(id) ?? 0) > LOOKUP_ROLE_CHECK_MS) {
        this.lookupRoleWarnedAt.set(id, Date.now());
        this.log.warn({ cluster: id, err: (e as Error).message }, 'cannot ensure the router lookup role yet; retried next beat');
      }
    }
  }

  /**
   * The router's own certificate, issued by the first shard's CA (the CA logins are checked against, so a client
   * trusts one CA for the router and that shard) for the Service's names; renewed like the servers'. A first
   * shard with user-supplied certificates has no CA key here: the router serves that shard's server certificate.
   */
  private async certificate(p: RouterPlacement, first: string, firstSpec: PostgresClusterSpec): Promise<string> {
    if (firstSpec.certificates?.serverTLSSecret) return firstSpec.certificates.serverTLSSecret;
    const id = `${p.namespace}/${p.cluster}`;
    const name = routerTlsSecretName(p.cluster);
    if (Date.now() - (this.certCheckedAt.get(id) ?? 0) < CERT_CHECK_MS) return name;
    const caData = await this.objects.read<SecretLike>('v1', 'Secret', p.namespace, caKeySecretName(first));
    const ca = { cert: decode(caData, 'tls.crt'), key: decode(caData, 'tls.key') };
    if (!ca.cert || !ca.key) throw new Error(`Secret ${p.namespace}/${caKeySecretName(first)} has no CA yet (the first shard is provisioning)`);
    const { inspectCert, issueServerCert } = await x509Builders();
    const current = decode(await this.objects.read<SecretLike>('v1', 'Secret', p.namespace, name), 'tls.crt');
    const wanted = routerServerNames(p.cluster, p.namespace);
    const now = new Date();
    const decision = renewalDecision(current ? await inspectCert(current, ca.cert) : null, wanted, now, this.policy);
    if (decision.renew) {
      const issued = await issueServerCert({ cert: ca.cert, key: ca.key }, `${routerName(p.cluster)}.${p.namespace}`, wanted, now, this.policy.validityMs);
      await this.objects.apply(routerTlsSecret(p, issued.cert, issued.key, ca.cert));
      this.log.info({ cluster: id, reason: decision.reason }, 'router certificate issued');
    }
    this.certCheckedAt.set(id, Date.now());
    return name;
  }

  private async record(key: ResourceKey, router: RouterStatus, c: Omit<RouterCondition, 'lastTransitionTime'>): Promise<void> {
    const id = `${key.namespace}/${key.name}`;
    const prev = this.last.get(id);
    const since = prev && prev.condition.status === c.status ? prev.condition.lastTransitionTime : new Date().toISOString();
    const next: Observed = { router, condition: { ...c, lastTransitionTime: since } };
    if (JSON.stringify(next) === JSON.stringify(prev)) return;
    this.last.set(id, next);
    // Written now as well: a settled cluster's actor may not write its status for a long time.
    await this.store.patchStatus(key, (s) => ({
      ...s, router: next.router,
      conditions: [...((s.conditions as { type: string }[] | undefined) ?? []).filter((x) => x.type !== 'RouterReady'), next.condition],
    }));
  }
}
