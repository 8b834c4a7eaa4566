// The cluster platform on one machine: pods are agent processes, Services are TCP forwarders, Secrets are files,
// the primary lease is a Redis key.
import { join, isAbsolute, normalize } from 'node:path';
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
import { canExecute } from '../os/os-user.js';
import type { LocalPods, PodRecord } from './pods.js';
import type { LocalSecrets } from './secrets.js';
import type { EndpointTable } from './endpoints.js';
import { pgBinDir } from './postgres-install.js';
import { buildInstanceSpec } from '../instance-spec.js';
import { localRepoFiles } from './backup-hosts.js';
import { RedisPrimaryLease } from '../lease/redis-lease.js';
import { RedisTimelineHistories } from '../lease/timeline-histories.js';
import type { PrimaryLease } from '../lease/primary-lease.js';
import { AgentClient } from '../agent-client.js';
import { isAlive, readPid, runs } from './processes.js';
import type { LocalCertificates, EnsureResult } from '../certs/local-certificates.js';

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
    readonly certs: LocalCertificates,
  ) {}

  async provisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    try { pgBinDir(spec.postgresVersion); } catch (e) { throw new PermanentError((e as Error).message); }
    refuseOwnCertificates(spec);
    this.secrets.ensure(cluster.namespace, cluster.name);
    await this.certs.ensure(cluster.namespace, cluster.name);
    await this.endpoints.ensure(cluster.namespace, cluster.name);
  }

  async deprovisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    const keep = spec.storage?.retainOnDelete ?? false;
    for (const pod of await this.pods.list({ namespace: cluster.namespace, cluster: cluster.name })) {
      await this.pods.remove(pod.namespace, pod.name, keep);
    }
    await this.endpoints.remove(cluster.namespace, cluster.name);
    await this.redis.del(`pgop:lease:${cluster.namespace}:${cluster.name}`, `pgop:primary:${cluster.namespace}:${cluster.name}`);
    // A recreated cluster of the same name must not inherit this one's timelines (it would skip timeline ids).
    await new RedisTimelineHistories(this.redis, cluster).clear();
    if (!keep) this.secrets.remove(cluster.namespace, cluster.name);
  }

  async createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec): Promise<void> {
    const { namespace, name: cluster } = input.cluster;
    refuseOwnCertificates(spec);
    await this.certs.ensure(namespace, cluster);
    const placed = await this.pods.place(namespace, cluster, input.instance, input.serial);
    const primaryPod = input.primary ? await this.pods.get(namespace, input.primary) : undefined;
    // A new pod runs what its primary runs (a clone must match it); the first one what the spec names. A rolling
    // update moves any that differ from the resolved image afterwards.
    const rec = placed.pgBinDir ? placed : { ...placed, pgBinDir: primaryPod?.pgBinDir ?? this.imageLocation(spec.imageName ?? null, spec) };
    if (rec !== placed) await this.pods.update(rec);
    if (input.bootstrap === 'clone' && !primaryPod) throw new Error(`primary ${input.primary} has no running pod to clone from`);
    const pods = await this.pods.list({ namespace, cluster });
    const members = [...new Set([...pods.map((p) => p.name), input.instance])];
    await this.pods.run(rec, this.specFor(input.cluster, spec, rec, input.bootstrap, primaryPod ?? null, members, this.creationGeneration(input, pods)));
    await this.refreshSpecs(input.cluster, spec, input.primary ?? input.instance);
  }

  /**
   * The configuration generation a new pod starts on. Without one its agent reports null until its first reload, and
   * the rolling update counts null as fresh (a platform that does not track generations): before the cluster's first
   * reconfiguration, a replica that had not reloaded yet looked updated and became the rollout's switchover target,
   * and the rollout stalled on a primary still pending a restart (issue #11). Its settings come from the spec stored
   * now, at least the generation the cluster spawned it at, and at least what its siblings were last given; never more,
   * so the label errs on the old side (the pod looks behind until a reconfiguration relabels it, never ahead).
   */
  private creationGeneration(input: InstanceEffectInput, pods: PodRecord[]): number {
    const siblings = pods.filter((p) => p.name !== input.instance && !p.removing).map((p) => this.readSpec(p)?.configGeneration)
      .filter((g): g is number => typeof g === 'number');
    return Math.max(input.owner.generation, ...siblings);
  }

  /** Scale-down: the replica and its volume go (retainOnDelete is about deleting the whole cluster). */
  async removeInstance(input: InstanceEffectInput, spec: PostgresClusterSpec): Promise<void> {
    await this.pods.remove(input.cluster.namespace, input.instance);
    const primary = await this.lease(input.cluster).readPrimary().catch(() => null);
    await this.refreshSpecs(input.cluster, spec, primary?.name ?? input.primary ?? '');
  }

  /** Rewrites every pod's spec (primary to follow, members, settings) and asks running agents to reload. */
  async refreshSpecs(cluster: ClusterRef, spec: PostgresClusterSpec, primary: string, generation?: number): Promise<void> {
    const pods = await this.pods.list({ namespace: cluster.namespace, cluster: cluster.name });
    const primaryPod = pods.find((p) => p.name === primary) ?? null;
    const members = pods.filter((p) => !p.removing).map((p) => p.name);
    for (const pod of pods) {
      if (pod.removing) continue;
      const current = this.readSpec(pod);
      const bootstrap = current?.bootstrap.mode === 'clone' || !current ? 'clone' : 'initdb';
      // Without a generation (a scale or repoint), the configuration generation the pod was last given stays.
      const g = generation ?? current?.configGeneration;
      await this.pods.respec(pod, this.specFor(cluster, spec, pod, bootstrap, pod.name === primary ? null : primaryPod, members, g));
    }
  }

  // --- rolling updates (ADR 0026) ---
  /**
   * On this platform an image is a PostgreSQL bin directory: an absolute path is used as it is (it must hold a
   * `postgres` executable); anything else (a container image reference) means the installed binaries of the
   * cluster's major.
   */
  imageLocation(image: string | null, spec: PostgresClusterSpec): string {
    if (image && isAbsolute(image)) {
      if (image.includes('\0') || normalize(image) !== image.replace(/\/+$/, '') || !existsSync(join(image, 'postgres'))) {
        throw new PermanentError(`image ${JSON.stringify(image)}: on the local platform an absolute image names a PostgreSQL bin directory holding postgres, and this one does not`);
      }
      // postgres runs as the postgres OS user: a directory only the operator's user can reach would hang its start.
      if (!canExecute(join(image, 'postgres'), this.pgUser)) {
        throw new PermanentError(`image ${JSON.stringify(image)}: the postgres OS user (${this.pgUser?.name ?? '?'}) cannot run ${join(image, 'postgres')}; make the directory and its parents readable and searchable by it`);
      }
      return image.replace(/\/+$/, '');
    }
    try { return pgBinDir(spec.postgresVersion); } catch (e) { throw new PermanentError((e as Error).message); }
  }

  async applyConfiguration(cluster: ClusterRef, spec: PostgresClusterSpec, primary: string | null, generation: number): Promise<void> {
    const leader = primary ?? (await this.lease(cluster).readPrimary().catch(() => null))?.name ?? '';
    await this.refreshSpecs(cluster, spec, leader, generation);
  }

  async restartInstance(cluster: ClusterRef, spec: PostgresClusterSpec, instance: string, image: string, primary: string | null): Promise<void> {
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod || pod.removing) throw new PermanentError(`instance ${instance} has no pod to restart`);
    const rec = { ...pod, pgBinDir: image };
    await this.pods.update(rec);
    const pods = await this.pods.list({ namespace: cluster.namespace, cluster: cluster.name });
    const primaryPod = primary && primary !== instance ? pods.find((p) => p.name === primary) ?? null : null;
    const current = this.readSpec(rec);
    const bootstrap = current?.bootstrap.mode === 'clone' || !current ? 'clone' : 'initdb';
    await this.pods.recreate(rec, this.specFor(cluster, spec, rec, bootstrap, primaryPod, pods.filter((p) => !p.removing).map((p) => p.name), current?.configGeneration));
  }

  async superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint> {
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod) throw new Error(`instance ${instance} has no pod`);
    return {
      host: '127.0.0.1', port: pod.port, user: SUPERUSER, password: this.secrets.read(cluster.namespace, cluster.name, 'superuser'),
      tls: { caFile: this.certs.files(cluster.namespace, cluster.name).caFile },
    };
  }

  async agent(cluster: ClusterRef, instance: string): Promise<AgentClient | null> {
    const pod = await this.pods.get(cluster.namespace, instance);
    return pod ? new AgentClient(`http://127.0.0.1:${pod.httpPort}`, { name: instance, host: '127.0.0.1', port: pod.port }, await this.agentToken(cluster)) : null;
  }

  async agentToken(cluster: ClusterRef): Promise<string> {
    return this.secrets.agentToken(cluster.namespace, cluster.name);
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

  /** The forwarders follow the cluster's routes, which give a primary being failed over no traffic: resync now. */
  async unroute(): Promise<string> {
    await this.syncEndpoints();
    return 'read-write forwarder resynced (no target while the failover runs)';
  }

  /** The local STONITH: SIGKILL to the agent, the postmaster and every postgres process, frozen or not. */
  async fenceUnresponsive(cluster: ClusterRef, instance: string): Promise<string> {
    // Measurement only (bench/failover): what is left when the platform cannot kill the old primary, as with a
    // Kubernetes node nobody can reach. Never set it in earnest.
    if (process.env.PGOP_LOCAL_STONITH === 'off') return 'platform fencing switched off (PGOP_LOCAL_STONITH=off): processes left running';
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod) return 'no pod: nothing to fence';
    const killed = await this.pods.killInstance(pod);
    return killed.length ? `killed ${killed.length} processes (agent, postmaster and its children) with SIGKILL` : 'no process running';
  }

  async reroute(): Promise<void> {
    await this.syncEndpoints();
  }

  /** Renews every provisioned cluster's server certificate that is due; agents notice the new files and reload. */
  async maintainCertificates(): Promise<Array<{ cluster: ClusterRef; result: EnsureResult }>> {
    const out: Array<{ cluster: ClusterRef; result: EnsureResult }> = [];
    for (const rec of await this.endpoints.list()) {
      const cluster = { namespace: rec.namespace, name: rec.cluster };
      out.push({ cluster, result: await this.certs.ensure(rec.namespace, rec.cluster) });
    }
    return out;
  }

  private readSpec(pod: PodRecord): InstanceSpec | null {
    const file = this.pods.specFile(pod);
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as InstanceSpec) : null;
  }

  private specFor(cluster: ClusterRef, spec: PostgresClusterSpec, rec: PodRecord, bootstrap: 'initdb' | 'clone', primaryPod: PodRecord | null, members: string[], configGeneration?: number): InstanceSpec {
    return buildInstanceSpec(spec, {
      ...(configGeneration !== undefined ? { configGeneration } : {}),
      namespace: cluster.namespace, cluster: cluster.name, name: rec.name, serial: rec.serial, bootstrap,
      port: rec.port, httpPort: rec.httpPort, home: rec.home, pgBinDir: rec.pgBinDir ?? pgBinDir(spec.postgresVersion),
      secrets: this.secrets.ensure(cluster.namespace, cluster.name), runAsUser: this.pgUser?.name ?? null,
      primary: primaryPod ? { host: '127.0.0.1', port: primaryPod.port } : null,
      members, leaseUrl: this.redisUrl, faultsFile: join(this.pods.dir(rec), 'faults.json'),
      tls: this.instanceTls(cluster),
      repoFiles: (repo) => localRepoFiles(this.pods.stateRoot, cluster.namespace, repo),
    });
  }

  /** The agent gets the server certificate and the CA's public part; never the CA key. */
  private instanceTls(cluster: ClusterRef): InstanceSpec['tls'] {
    const f = this.certs.files(cluster.namespace, cluster.name);
    return { certFile: f.certFile, keyFile: f.keyFile, caFile: f.caFile, serverName: null };
  }
}

/**
 * Bring-your-own certificates name Kubernetes Secrets; the local store holds no Secrets yet, so a manifest asking
 * for them is refused rather than silently served the operator's own certificate.
 */
function refuseOwnCertificates(spec: PostgresClusterSpec): void {
  if (spec.certificates?.serverTLSSecret || spec.certificates?.serverCASecret) {
    throw new PermanentError('spec.certificates (bring your own server certificate) is supported on Kubernetes only; the local platform issues its own from a per-cluster CA: remove spec.certificates');
  }
}
