// The Kubernetes PoolerPlatform: a Pooler becomes a Deployment of PgBouncer pods, a Service `<pooler>`, the pods'
// read-only identity, a NetworkPolicy and the ConfigMap the pods render pgbouncer.ini from. The pods re-read that
// ConfigMap every few seconds and RELOAD (or PAUSE/RESUME) in place, so a route change after a failover or a
// parameter change reaches PgBouncer without a rollout and without dropping clients.
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/definition.js';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ApplyPoolerInput, PoolerApplied, PoolerRef } from '../../machines/pooler/pooler.types.js';
import type { PoolerApplyContext, PoolerPlatform, PoolerRoute } from '../pooler/pooler-platform.js';
import { routeLabel } from '../pooler/pooler-platform.js';
import { ensurePoolerAuth } from '../pooler/auth-sql.js';
import type { Logger } from '../logging/logger.js';
import { K8sObjects } from './objects.js';
import type { Owner } from './specs/labels.js';
import { POSTGRES_PORT, tlsSources } from './specs/names.js';
import {
  POOLER_PORT, poolerAuthSecret, poolerAuthSecretName, poolerConfigMap, poolerConfigMapName, poolerDeployment, poolerIdentity, poolerNetworkPolicy,
  poolerService, poolerServiceAccount, type PoolerPlacement, type PoolerPodConfig, type PoolerServer,
} from './specs/pooler-objects.js';

interface Meta { metadata: { uid?: string }; apiVersion: string; kind: string }
interface PodLike extends Meta { metadata: { uid?: string; deletionTimestamp?: Date }; status?: { podIP?: string } }
interface DeploymentLike extends Meta { status?: { readyReplicas?: number } }
interface SecretLike extends Meta { data?: Record<string, string> }

export class K8sPoolers implements PoolerPlatform {
  private readonly objects: K8sObjects;
  /** Databases last seen on each cluster's primary, kept while the primary is away. */
  private readonly databases = new Map<string, string[]>();
  /** Ready pods each pooler reported at its last apply: a change makes the watcher apply (and report) again. */
  private readonly reportedReady = new Map<string, number>();

  constructor(kc: KubeConfig, private readonly image: string, private readonly log: Logger) {
    this.objects = new K8sObjects(kc);
  }

  async apply(input: ApplyPoolerInput, ctx: PoolerApplyContext): Promise<PoolerApplied> {
    const { namespace, name } = input;
    const cluster = input.spec.cluster.name;
    const clusterObj = await this.objects.read<Meta & { spec?: PostgresClusterSpec }>(API_VERSION, 'PostgresCluster', namespace, cluster);
    if (!clusterObj?.metadata.uid) throw new Error(`PostgresCluster ${namespace}/${cluster} not found (spec.cluster.name)`);
    const pooler = await this.objects.read<Meta>(API_VERSION, 'Pooler', namespace, name);
    if (!pooler?.metadata.uid) throw new Error(`Pooler ${namespace}/${name} is gone`);
    const owner: Owner = { apiVersion: API_VERSION, kind: 'Pooler', name, uid: pooler.metadata.uid };
    const clusterOwner: Owner = { apiVersion: API_VERSION, kind: 'PostgresCluster', name: cluster, uid: clusterObj.metadata.uid };

    // Generated once per cluster; re-applying never rotates it behind the running PgBouncers' back.
    await this.objects.createIfMissing(poolerAuthSecret(cluster, namespace, clusterOwner, randomBytes(18).toString('base64url')));
    const password = await this.secretValue(namespace, poolerAuthSecretName(cluster), 'password');
    const key = `${namespace}/${cluster}`;
    if (ctx.primary) this.databases.set(key, await ensurePoolerAuth(ctx.primary, password));

    const sources = tlsSources(cluster, clusterObj.spec?.certificates);
    const hasTls = (await this.objects.read('v1', 'Secret', namespace, sources.ca)) !== undefined;
    const server = await this.server(namespace, cluster, ctx.route, this.databases.get(key) ?? []);
    const config: PoolerPodConfig = {
      cluster, spec: input.spec, server, authSecret: poolerAuthSecretName(cluster),
      tls: hasTls ? { caSecret: sources.ca, caKey: sources.caKey, serverSecret: sources.server } : null,
    };
    const p: PoolerPlacement = { name, namespace, cluster, image: this.image, owner, instances: input.spec.instances };
    await this.objects.applyAll([...poolerIdentity(p, config), poolerConfigMap(p, config), poolerDeployment(p), poolerService(p), poolerNetworkPolicy(p)]);
    const ready = await this.readyPods(input);
    this.reportedReady.set(`${namespace}/${name}`, ready);
    return {
      target: server ? routeLabel(cluster, ctx.route) : null,
      // The pods set PAUSE/RESUME from the ConfigMap within a few seconds; their metrics show it (pgop_pooler_paused).
      paused: input.spec.paused,
      instances: input.spec.instances, readyInstances: ready, endpoint: `${name}.${namespace}.svc:${POOLER_PORT}`,
    };
  }

  async running(ref: PoolerRef, _instances: number): Promise<boolean> {
    const reported = this.reportedReady.get(`${ref.namespace}/${ref.name}`);
    const dep = await this.objects.read<DeploymentLike>('apps/v1', 'Deployment', ref.namespace, ref.name);
    return dep !== undefined && reported === (dep.status?.readyReplicas ?? 0);
  }

  async remove(ref: PoolerRef): Promise<void> {
    const del = (apiVersion: string, kind: string, n: string) => this.objects.delete(apiVersion, kind, ref.namespace, n);
    await del('apps/v1', 'Deployment', ref.name);
    await del('v1', 'Service', ref.name);
    await del('networking.k8s.io/v1', 'NetworkPolicy', ref.name);
    await del('v1', 'ConfigMap', poolerConfigMapName(ref.name));
    await del('rbac.authorization.k8s.io/v1', 'RoleBinding', poolerServiceAccount(ref.name));
    await del('rbac.authorization.k8s.io/v1', 'Role', poolerServiceAccount(ref.name));
    await del('v1', 'ServiceAccount', poolerServiceAccount(ref.name));
    this.reportedReady.delete(`${ref.namespace}/${ref.name}`);
    this.log.info({ pooler: `${ref.namespace}/${ref.name}` }, 'pooler objects removed');
  }

  /**
   * rw: the primary's pod IP (in the cluster certificate, so verify-full holds), moved by the next apply after a
   * failover; ro: the cluster's -ro Service, which spreads over the ready replicas.
   */
  private async server(namespace: string, cluster: string, route: PoolerRoute, databases: string[]): Promise<PoolerServer | null> {
    if (!route) return null;
    if (route.kind === 'readOnly') return { host: `${cluster}-ro.${namespace}.svc`, port: POSTGRES_PORT, databases };
    const pod = await this.objects.read<PodLike>('v1', 'Pod', namespace, route.instance);
    const ip = pod && !pod.metadata.deletionTimestamp ? pod.status?.podIP : undefined;
    return ip ? { host: ip, port: POSTGRES_PORT, databases } : null;
  }

  private async readyPods(ref: PoolerRef): Promise<number> {
    const dep = await this.objects.read<DeploymentLike>('apps/v1', 'Deployment', ref.namespace, ref.name);
    return dep?.status?.readyReplicas ?? 0;
  }

  private async secretValue(namespace: string, secret: string, key: string): Promise<string> {
    const s = await this.objects.read<SecretLike>('v1', 'Secret', namespace, secret);
    const v = s?.data?.[key];
    if (!v) throw new Error(`Secret ${namespace}/${secret} has no ${key}`);
    return Buffer.from(v, 'base64').toString('utf8');
  }
}
