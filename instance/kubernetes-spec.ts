// `pgop instance --kubernetes`: the agent's spec comes from the API instead of a file the platform writes. It
// reads its cluster, the cluster's Secrets, the operator's state ConfigMap (the primary to follow) and the
// cluster's Pods (members, the primary's address), writes the spec and the passwords into its run dir, and keeps
// them current while it runs.
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PostgresClusterSpec } from '../crds/postgrescluster.js';
import { GROUP, VERSION } from '../crds/definition.js';
import { definitionFor } from '../crds/registry.js';
import { buildInstanceSpec } from '../adapters/instance-spec.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { handOver, type OsUser } from '../adapters/os/os-user.js';
import { pgBinDir } from '../adapters/local/postgres-install.js';
import { LABEL } from '../adapters/k8s/specs/labels.js';
import {
  AGENT_PORT, DATA_MOUNT, POSTGRES_PORT, PRIMARY_KEY, RUN_MOUNT, SECRET_ROLES, secretName, stateConfigMapName, type SecretRole,
} from '../adapters/k8s/specs/names.js';
import { httpStatus } from '../adapters/k8s/client.js';

export interface PodIdentity { namespace: string; pod: string; podIP: string; cluster: string; dataRoot: string; runDir: string; pgBinDir: string | null }

/** The downward-API environment the operator's Pod spec sets; a missing variable is named. */
export function podIdentity(env: NodeJS.ProcessEnv = process.env): PodIdentity {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: \`pgop instance --kubernetes\` runs in a Pod created by the operator, which sets it`);
    return v;
  };
  return {
    namespace: need('POD_NAMESPACE'), pod: need('POD_NAME'), podIP: need('POD_IP'), cluster: need('PGOP_CLUSTER'),
    dataRoot: env.PGOP_DATA_ROOT ?? DATA_MOUNT, runDir: env.PGOP_RUN_DIR ?? RUN_MOUNT, pgBinDir: env.PGOP_PG_BIN_DIR ?? null,
  };
}

export class KubernetesSpecSource {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  readonly path: string;

  constructor(kc: KubeConfig, readonly id: PodIdentity, private readonly user: OsUser | null) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.path = join(id.runDir, 'instance.json');
  }

  /** Builds the spec from the API and writes it when it changed; true when it did. */
  async refresh(): Promise<boolean> {
    const spec = await this.build();
    const text = `${JSON.stringify(spec, null, 2)}\n`;
    if (existsSync(this.path) && readFileSync(this.path, 'utf8') === text) return false;
    writeFileSync(this.path, text, { mode: 0o600 });
    return true;
  }

  private async build(): Promise<InstanceSpec> {
    const { namespace, cluster, pod: me } = this.id;
    const plural = definitionFor('PostgresCluster')?.plural ?? 'postgresclusters';
    const obj = await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name: cluster }) as { spec: PostgresClusterSpec };
    const [self, pods, state] = await Promise.all([
      this.core.readNamespacedPod({ namespace, name: me }),
      this.core.listNamespacedPod({ namespace, labelSelector: `${LABEL.cluster}=${cluster}` }),
      this.core.readNamespacedConfigMap({ namespace, name: stateConfigMapName(cluster) }).catch((e: unknown) => { if (httpStatus(e) === 404) return null; throw e; }),
    ]);
    const primaryName = state?.data?.[PRIMARY_KEY] ?? null;
    const primaryPod = pods.items.find((p) => p.metadata?.name === primaryName);
    const previous = this.previous();
    // A primary whose pod is gone (mid-failover) has no address: keep following the last one until repointed.
    const primary = primaryName === me || !primaryName ? null
      : primaryPod?.status?.podIP ? { host: primaryPod.status.podIP, port: POSTGRES_PORT } : previous?.primary ?? null;
    const bootstrap = self.metadata?.annotations?.['postgres.keiailab.io/bootstrap'] === 'initdb' ? 'initdb' : 'clone';
    if (bootstrap === 'clone' && !primary && !existsSync(join(this.id.dataRoot, 'pgdata', 'PG_VERSION'))) {
      throw new Error(`waiting for the primary${primaryName ? ` ${primaryName}` : ''} to have an address to clone from`);
    }
    const members = [...new Set([...pods.items.filter(live).map((p) => p.metadata?.name ?? ''), me])].filter(Boolean).sort();
    return buildInstanceSpec(obj.spec, {
      namespace, cluster, name: me, serial: Number(self.metadata?.annotations?.['postgres.keiailab.io/serial'] ?? 0), bootstrap,
      host: this.id.podIP, port: POSTGRES_PORT, httpPort: AGENT_PORT, home: this.id.dataRoot,
      paths: { dataDir: join(this.id.dataRoot, 'pgdata'), runDir: this.id.runDir, logFile: join(this.id.dataRoot, 'postgres.log') },
      pgBinDir: this.id.pgBinDir ?? pgBinDir(obj.spec.postgresVersion),
      secrets: await this.writeSecrets(), runAsUser: this.user?.name ?? null, primary, members,
      leaseUrl: 'kubernetes:', faultsFile: null,
    });
  }

  private previous(): InstanceSpec | null {
    try { return JSON.parse(readFileSync(this.path, 'utf8')) as InstanceSpec; } catch { return null; }
  }

  /** Passwords as files the agent and postgres tools read, outside the data directory. */
  private async writeSecrets(): Promise<Record<SecretRole, string>> {
    const dir = join(this.id.runDir, 'secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, this.user);
    const out = {} as Record<SecretRole, string>;
    for (const role of SECRET_ROLES) {
      const s = await this.core.readNamespacedSecret({ namespace: this.id.namespace, name: secretName(this.id.cluster, role) });
      const b64 = s.data?.password;
      if (!b64) throw new Error(`Secret ${secretName(this.id.cluster, role)} has no password key`);
      const file = join(dir, `${role}.password`);
      writeFileSync(file, `${Buffer.from(b64, 'base64').toString('utf8')}\n`, { mode: 0o600 });
      handOver(file, this.user);
      out[role] = file;
    }
    return out;
  }

  /** Labels this Pod with its role so the Services select it; the operator relabels too when it reroutes. */
  async labelRole(role: 'primary' | 'replica'): Promise<void> {
    await this.core.patchNamespacedPod({ namespace: this.id.namespace, name: this.id.pod, body: { metadata: { labels: { [LABEL.role]: role } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
}

const live = (p: V1Pod) => !p.metadata?.deletionTimestamp;
