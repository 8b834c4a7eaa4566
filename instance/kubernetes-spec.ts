// `pgop instance --kubernetes`: the agent's spec comes from the API instead of a file the platform writes. It
// reads its cluster, the cluster's Secrets, the operator's state ConfigMap (the primary to follow) and the
// cluster's Pods (members, the primary's address), writes the spec and the passwords into its run dir, and keeps
// them current while it runs.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { writeFileAtomicIfChanged } from '../adapters/os/atomic-file.js';
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
  AGENT_PORT, AGENT_TOKEN_ENV, DATA_MOUNT, IMAGE_ENV, POSTGRES_PORT, PRIMARY_KEY, RUN_MOUNT, SECRET_ROLES, secretName, stateConfigMapName, tlsSources, type SecretRole,
} from '../adapters/k8s/specs/names.js';
import { anyInstanceName } from '../adapters/certs/tls-policy.js';
import { httpStatus } from '../adapters/k8s/client.js';
import { REPO_PATH_ENV, withMountedRepositories } from '../adapters/k8s/specs/repository-mounts.js';
import { repositoryFiles, repositorySecretFile, repositorySecrets } from '../adapters/k8s/specs/repository-secrets.js';
import { readRepositorySecret } from '../adapters/k8s/repository-secret-reader.js';

export interface PodIdentity {
  namespace: string; pod: string; podIP: string; cluster: string; dataRoot: string; runDir: string; pgBinDir: string | null;
  /** The Pod's container image as the operator's Pod spec names it (IMAGE_ENV); null in Pods made before it did. */
  image: string | null;
  /** Where the Pod mounts its posix repository volumes, as this process sees them (repository-mounts.ts). */
  repoPaths: { backup?: string; recovery?: string };
}

/** The downward-API environment the operator's Pod spec sets; a missing variable is named. */
/** postgres's log, on the data volume so that it outlives the Pod; the agent also passes it on to its stdout. */
export const postgresLogFile = (id: Pick<PodIdentity, 'dataRoot'>) => join(id.dataRoot, 'postgres.log');

export function podIdentity(env: NodeJS.ProcessEnv = process.env): PodIdentity {
  const need = (name: string) => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: \`pgop instance --kubernetes\` runs in a Pod created by the operator, which sets it`);
    return v;
  };
  return {
    namespace: need('POD_NAMESPACE'), pod: need('POD_NAME'), podIP: need('POD_IP'), cluster: need('PGOP_CLUSTER'),
    dataRoot: env.PGOP_DATA_ROOT ?? DATA_MOUNT, runDir: env.PGOP_RUN_DIR ?? RUN_MOUNT, pgBinDir: env.PGOP_PG_BIN_DIR ?? null,
    image: env[IMAGE_ENV] || null,
    repoPaths: {
      ...(env[REPO_PATH_ENV.backup] ? { backup: env[REPO_PATH_ENV.backup] } : {}),
      ...(env[REPO_PATH_ENV.recovery] ? { recovery: env[REPO_PATH_ENV.recovery] } : {}),
    },
  };
}

/**
 * The agent API token, set by the Pod spec from the cluster's token Secret (secretKeyRef: the Pod spec shows the
 * reference, never the value). Taken out of the environment at once so postgres and the tools do not inherit it.
 */
export function takeAgentToken(env: NodeJS.ProcessEnv = process.env): string {
  const token = env[AGENT_TOKEN_ENV]?.trim();
  delete env[AGENT_TOKEN_ENV];
  if (!token) throw new Error(`${AGENT_TOKEN_ENV} is not set: the operator's Pod spec sets it from the cluster's agent token Secret`);
  return token;
}

export class KubernetesSpecSource {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  readonly path: string;

  constructor(kc: KubeConfig, readonly id: PodIdentity, private readonly user: OsUser | null, private readonly agentToken: string) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.path = join(id.runDir, 'instance.json');
  }

  /** Builds the spec from the API and writes it when it changed; true when it did. */
  async refresh(): Promise<boolean> {
    const spec = await this.build();
    return writeFileAtomicIfChanged(this.path, `${JSON.stringify(spec, null, 2)}\n`);
  }

  private async build(): Promise<InstanceSpec> {
    const { namespace, cluster, pod: me } = this.id;
    const plural = definitionFor('PostgresCluster')?.plural ?? 'postgresclusters';
    const obj = await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name: cluster }) as { metadata?: { generation?: number }; spec: PostgresClusterSpec };
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
    const repoDir = await this.writeRepositorySecrets(obj.spec, bootstrap);
    // A posix repository added after this Pod was created: the Pod has no volume for it (its spec is immutable), so
    // only a new Pod can use it. Reported as a pending restart, which the rolling update makes (ADR 0044).
    const restartNeeded = obj.spec.backup?.repository.posix?.volumeClaim && !this.id.repoPaths.backup
      ? [`the posix repository on PersistentVolumeClaim ${obj.spec.backup.repository.posix.volumeClaim} is not mounted in this Pod (added after it was created)`] : [];
    const built = withMountedRepositories(buildInstanceSpec(obj.spec, {
      namespace, cluster, name: me, serial: Number(self.metadata?.annotations?.['postgres.keiailab.io/serial'] ?? 0), bootstrap,
      host: this.id.podIP, port: POSTGRES_PORT, httpPort: AGENT_PORT, home: this.id.dataRoot,
      paths: { dataDir: join(this.id.dataRoot, 'pgdata'), runDir: this.id.runDir, logFile: postgresLogFile(this.id) },
      pgBinDir: this.id.pgBinDir ?? pgBinDir(obj.spec.postgresVersion),
      ...(this.id.image ? { image: this.id.image } : {}),
      // The settings come from this generation of the cluster: reported once loaded, so the operator's rolling update
      // knows a pending_restart (or its absence) is about the current spec, not an older one (ADR 0026).
      ...(obj.metadata?.generation !== undefined ? { configGeneration: obj.metadata.generation } : {}),
      secrets: await this.writeSecrets(), runAsUser: this.user?.name ?? null, primary, members,
      leaseUrl: 'kubernetes:', faultsFile: null, tls: await this.writeTls(obj.spec),
      repoFiles: (repo) => repositoryFiles(repoDir, repo),
    }), this.id.repoPaths);
    if (!restartNeeded.length) return built;
    // Until then the repository is left out (archive_command discards, as without one): its path is not this Pod's
    // volume, and a repository that has no backup yet needs none of the WAL written meanwhile.
    const { backup: _unmounted, ...rest } = built;
    return { ...rest, restartNeeded };
  }

  private previous(): InstanceSpec | null {
    try { return JSON.parse(readFileSync(this.path, 'utf8')) as InstanceSpec; } catch { return null; }
  }

  /** Passwords as files the agent and postgres tools read, outside the data directory; the API token beside them. */
  private async writeSecrets(): Promise<InstanceSpec['secrets']> {
    const dir = join(this.id.runDir, 'secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, this.user);
    const out = {} as Record<SecretRole, string>;
    for (const role of SECRET_ROLES) {
      const s = await this.core.readNamespacedSecret({ namespace: this.id.namespace, name: secretName(this.id.cluster, role) });
      const b64 = s.data?.password;
      if (!b64) throw new Error(`Secret ${secretName(this.id.cluster, role)} has no password key`);
      const file = join(dir, `${role}.password`);
      // Rewritten only when the Secret changed: every rewrite is a chance to lose the file.
      writeFileAtomicIfChanged(file, `${Buffer.from(b64, 'base64').toString('utf8')}\n`, { owner: this.user });
      out[role] = file;
    }
    // Not handed to the postgres user: nothing postgres runs (SQL file functions included) needs to read it.
    const tokenFile = join(dir, 'agent.token');
    writeFileAtomicIfChanged(tokenFile, `${this.agentToken}\n`);
    return { ...out, agentToken: tokenFile };
  }

  /**
   * The S3 repositories' Secrets (access key, secret key, CA) as files only the agent and postgres's OS user read
   * (0700 directory, 0600 files): the agent renders them into the 0600 pgBackRest config, never onto a command
   * line or into the spec file. The recovery source's only in the Pod that restores (repository-secrets.ts).
   */
  private async writeRepositorySecrets(spec: PostgresClusterSpec, bootstrap: 'initdb' | 'clone'): Promise<string> {
    const dir = join(this.id.runDir, 'secrets', 'repository');
    const refs = repositorySecrets(spec, bootstrap);
    if (refs.length === 0) return dir;
    const values = await Promise.all(refs.map((ref) => readRepositorySecret(this.core, this.id.namespace, ref)));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, this.user);
    refs.forEach((ref, i) => {
      const sub = join(dir, ref.secret);
      mkdirSync(sub, { recursive: true, mode: 0o700 });
      handOver(sub, this.user);
      for (const [key, value] of Object.entries(values[i] ?? {})) writeFileAtomicIfChanged(repositorySecretFile(dir, ref.secret, key), `${value}\n`, { owner: this.user });
    });
    return dir;
  }

  /**
   * The server certificate and the CA as files; peers are verified by the "any instance" Service name because
   * pod IPs are not in the certificate (libpq dials the IP as hostaddr and checks the name).
   */
  private async writeTls(spec: PostgresClusterSpec): Promise<InstanceSpec['tls']> {
    const dir = join(this.id.runDir, 'secrets', 'tls');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    handOver(dir, this.user);
    const src = tlsSources(this.id.cluster, spec.certificates);
    const read = async (name: string) => (await this.core.readNamespacedSecret({ namespace: this.id.namespace, name })).data ?? {};
    const server = await read(src.server);
    const caData = src.ca === src.server ? server : await read(src.ca);
    const need = (data: Record<string, string>, key: string, secret: string) => {
      const b64 = data[key];
      if (!b64) throw new Error(`Secret ${secret} has no ${key} key${spec.certificates?.serverTLSSecret ? ' (spec.certificates: a kubernetes.io/tls Secret holds tls.crt and tls.key; ca.crt comes from serverCASecret or the same Secret)' : ''}`);
      return Buffer.from(b64, 'base64').toString('utf8');
    };
    const files = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key'), caFile: join(dir, 'ca.crt') };
    const contents: Array<[string, string]> = [
      [files.certFile, need(server, 'tls.crt', src.server)], [files.keyFile, need(server, 'tls.key', src.server)], [files.caFile, need(caData, src.caKey, src.ca)],
    ];
    for (const [file, text] of contents) writeFileAtomicIfChanged(file, text, { owner: this.user });
    return { ...files, serverName: anyInstanceName(this.id.cluster, this.id.namespace) };
  }
}

const live = (p: V1Pod) => !p.metadata?.deletionTimestamp;

