// The cluster platform on one machine: pods are agent processes, Services are TCP forwarders, Secrets are files,
// the primary lease is a Redis key.
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ClusterRef, InstanceEffectInput } from '../../machines/instance/instance.types.js';
import type { PlanPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import type { Endpoint } from '../sql/connect.js';
import type { InstanceSpec } from '../instance/spec.js';
import { SUPERUSER } from '../instance/spec.js';
import type { OsUser } from '../os/os-user.js';
import type { LocalPods, PodRecord } from './pods.js';
import type { LocalSecrets } from './secrets.js';
import type { EndpointTable } from './endpoints.js';
import { pgBinDir } from './postgres-install.js';
import { buildInstanceSpec } from '../instance-spec.js';
import { RedisPrimaryLease } from '../lease/redis-lease.js';
import type { PrimaryLease } from '../lease/primary-lease.js';
import { AgentClient } from '../agent-client.js';
import { isAlive, readPid, runs } from './processes.js';

export class LocalPlatform implements PlanPlatform {
  private readonly leases = new Map<string, RedisPrimaryLease>();
  /** Set by the daemon: re-syncs the endpoint forwarders now instead of at the next tick. */
  syncEndpoints: () => Promise<void> = async () => undefined;

  constructor(
    readonly pods: LocalPods,
    readonly secrets: LocalSecrets,
    readonly endpoints: EndpointTable,
    private readonly pgUser: OsUser | null,
    private readonly redis: Redis,
    private readonly redisUrl: string,
  ) {}

  async provisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    try { pgBinDir(spec.postgresVersion); } catch (e) { throw new PermanentError((e as Error).message); }
    this.secrets.ensure(cluster.namespace, cluster.name);
    await this.endpoints.ensure(cluster.namespace, cluster.name);
  }

  async deprovisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    const keep = spec.storage?.retainOnDelete ?? false;
    for (const pod of await this.pods.list({ namespace: cluster.namespace, cluster: cluster.name })) {
      await this.pods.remove(pod.namespace, pod.name, keep);
    }
    await this.endpoints.remove(cluster.namespace, cluster.name);
    await this.redis.del(`pgop:lease:${cluster.namespace}:${cluster.name}`, `pgop:primary:${cluster.namespace}:${cluster.name}`);
    if (!keep) this.secrets.remove(cluster.namespace, cluster.name);
  }

  async createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec): Promise<void> {
    const { namespace, name: cluster } = input.cluster;
    const rec = await this.pods.place(namespace, cluster, input.instance, input.serial);
    const primaryPod = input.primary ? await this.pods.get(namespace, input.primary) : undefined;
    if (input.bootstrap === 'clone' && !primaryPod) throw new Error(`primary ${input.primary} has no running pod to clone from`);
    const members = [...new Set([...(await this.pods.list({ namespace, cluster })).map((p) => p.name), input.instance])];
    await this.pods.run(rec, this.specFor(input.cluster, spec, rec, input.bootstrap, primaryPod ?? null, members));
    await this.refreshSpecs(input.cluster, spec, input.primary ?? input.instance);
  }

  /** Scale-down: the replica and its volume go (retainOnDelete is about deleting the whole cluster). */
  async removeInstance(input: InstanceEffectInput, spec: PostgresClusterSpec): Promise<void> {
    await this.pods.remove(input.cluster.namespace, input.instance);
    const primary = await this.lease(input.cluster).readPrimary().catch(() => null);
    await this.refreshSpecs(input.cluster, spec, primary?.name ?? input.primary ?? '');
  }

  /** Rewrites every pod's spec (primary to follow, members, settings) and asks running agents to reload. */
  async refreshSpecs(cluster: ClusterRef, spec: PostgresClusterSpec, primary: string): Promise<void> {
    const pods = await this.pods.list({ namespace: cluster.namespace, cluster: cluster.name });
    const primaryPod = pods.find((p) => p.name === primary) ?? null;
    const members = pods.filter((p) => !p.removing).map((p) => p.name);
    for (const pod of pods) {
      if (pod.removing) continue;
      const current = this.readSpec(pod);
      const bootstrap = current?.bootstrap.mode ?? 'clone';
      await this.pods.respec(pod, this.specFor(cluster, spec, pod, bootstrap, pod.name === primary ? null : primaryPod, members));
    }
  }

  async superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint> {
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod) throw new Error(`instance ${instance} has no pod`);
    return { host: '127.0.0.1', port: pod.port, user: SUPERUSER, password: this.secrets.read(cluster.namespace, cluster.name, 'superuser') };
  }

  async agent(cluster: ClusterRef, instance: string): Promise<AgentClient | null> {
    const pod = await this.pods.get(cluster.namespace, instance);
    return pod ? new AgentClient(`http://127.0.0.1:${pod.httpPort}`, { name: instance, host: '127.0.0.1', port: pod.port }) : null;
  }

  /** Agent and postmaster both gone: nothing of this instance can be serving writes. */
  async instanceGone(cluster: ClusterRef, instance: string): Promise<boolean> {
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod) return true;
    if (isAlive(this.pods.agentPid(pod))) return false;
    return !runs(readPid(join(pod.home, 'volume', 'pgdata', 'postmaster.pid')), 'postgres');
  }

  lease(cluster: ClusterRef): PrimaryLease {
    const key = `${cluster.namespace}/${cluster.name}`;
    let lease = this.leases.get(key);
    if (!lease) { lease = new RedisPrimaryLease(this.redis, cluster); this.leases.set(key, lease); }
    return lease;
  }

  async repoint(cluster: ClusterRef, spec: PostgresClusterSpec, newPrimary: string): Promise<void> {
    await this.refreshSpecs(cluster, spec, newPrimary);
  }

  async reroute(): Promise<void> {
    await this.syncEndpoints();
  }

  private readSpec(pod: PodRecord): InstanceSpec | null {
    const file = this.pods.specFile(pod);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InstanceSpec) : null;
  }

  private specFor(cluster: ClusterRef, spec: PostgresClusterSpec, rec: PodRecord, bootstrap: 'initdb' | 'clone', primaryPod: PodRecord | null, members: string[]): InstanceSpec {
    return buildInstanceSpec(spec, {
      namespace: cluster.namespace, cluster: cluster.name, name: rec.name, serial: rec.serial, bootstrap,
      port: rec.port, httpPort: rec.httpPort, home: rec.home, pgBinDir: pgBinDir(spec.postgresVersion),
      secrets: this.secrets.ensure(cluster.namespace, cluster.name), runAsUser: this.pgUser?.name ?? null,
      primary: primaryPod ? { host: '127.0.0.1', port: primaryPod.port } : null,
      members, leaseUrl: this.redisUrl, faultsFile: join(this.pods.dir(rec), 'faults.json'),
    });
  }
}
