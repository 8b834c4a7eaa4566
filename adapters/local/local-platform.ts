// The cluster platform on one machine: pods are agent processes, Services are TCP forwarders, Secrets are files.
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ClusterRef, InstanceEffectInput } from '../../machines/instance/instance.types.js';
import type { ClusterPlatform } from '../platform.js';
import { PermanentError } from '../platform.js';
import type { Endpoint } from '../sql/connect.js';
import { SUPERUSER } from '../../instance/spec.js';
import type { OsUser } from '../os/os-user.js';
import type { LocalPods } from './pods.js';
import type { LocalSecrets } from './secrets.js';
import type { EndpointTable } from './endpoints.js';
import { pgBinDir } from './postgres-install.js';
import { buildInstanceSpec } from './instance-spec.js';

export class LocalPlatform implements ClusterPlatform {
  constructor(
    readonly pods: LocalPods,
    readonly secrets: LocalSecrets,
    readonly endpoints: EndpointTable,
    private readonly pgUser: OsUser | null,
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
    if (!keep) this.secrets.remove(cluster.namespace, cluster.name);
  }

  async createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec): Promise<void> {
    const { namespace, name: cluster } = input.cluster;
    const rec = await this.pods.place(namespace, cluster, input.instance, input.serial);
    const primaryPod = input.primary ? await this.pods.get(namespace, input.primary) : undefined;
    if (input.bootstrap === 'clone' && !primaryPod) throw new Error(`primary ${input.primary} has no running pod to clone from`);
    const secrets = this.secrets.ensure(namespace, cluster);
    const instanceSpec = buildInstanceSpec(spec, {
      namespace, cluster, name: input.instance, serial: input.serial, bootstrap: input.bootstrap,
      port: rec.port, httpPort: rec.httpPort, home: rec.home, pgBinDir: pgBinDir(spec.postgresVersion),
      secrets, runAsUser: this.pgUser?.name ?? null,
      primary: primaryPod ? { host: '127.0.0.1', port: primaryPod.port } : null,
    });
    await this.pods.run(rec, instanceSpec);
  }

  /** Scale-down: the replica and its volume go (retainOnDelete is about deleting the whole cluster). */
  async removeInstance(input: InstanceEffectInput): Promise<void> {
    await this.pods.remove(input.cluster.namespace, input.instance);
  }

  async superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint> {
    const pod = await this.pods.get(cluster.namespace, instance);
    if (!pod) throw new Error(`instance ${instance} has no pod`);
    return { host: '127.0.0.1', port: pod.port, user: SUPERUSER, password: this.secrets.read(cluster.namespace, cluster.name, 'superuser') };
  }
}
