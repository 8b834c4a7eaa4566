// The cluster platform on Kubernetes: Pods and PVCs managed directly, Services selecting by role labels, Secrets
// generated once, the primary as a Lease object, and the primary to follow in the cluster's state ConfigMap.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1PersistentVolumeClaim, type V1Pod } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import { API_VERSION } from '../../crds/definition.js';
import type { ClusterRef, InstanceEffectInput } from '../../machines/instance/instance.types.js';
import { PermanentError, type PlanPlatform } from '../platform.js';
import type { Endpoint } from '../sql/connect.js';
import { SUPERUSER, REPLICATION_USER } from '../instance/spec.js';
import { AgentClient } from '../agent-client.js';
import { K8sPrimaryLease } from '../lease/k8s-lease.js';
import type { PrimaryLease } from '../lease/primary-lease.js';
import { K8sObjects, FIELD_MANAGER } from './objects.js';
import { LABEL, type Owner } from './specs/labels.js';
import { clusterServices } from './specs/services.js';
import { instancePod, instancePvc, pvcName, type InstancePlacement } from './specs/pod.js';
import { repositoryMounts } from './specs/repository-mounts.js';
import { RepositorySecretError, repositorySecretNames, repositorySecrets } from './specs/repository-secrets.js';
import { requireRepositorySecrets } from './repository-secret-reader.js';
import { desiredRoleLabels, type RoleLabel } from './specs/role-labels.js';
import {
  agentTokenSecret, credentialSecret, disruptionBudgets, instanceIdentity, networkPolicy, primaryConfigMap, primaryLease, stateConfigMap, timelinesConfigMap,
} from './specs/cluster-objects.js';
import type { OperatorPeer } from './specs/operator-peer.js';
import {
  AGENT_PORT, AGENT_TOKEN_KEY, IMAGE_ANNOTATION, POSTGRES_PORT, SECRET_ROLES, agentTokenSecretName, secretName, stateConfigMapName, instanceServiceAccount, primaryLeaseName, timelinesConfigMapName, type SecretRole,
} from './specs/names.js';
import { httpStatus } from './client.js';
import type { ObservedInstance } from '../instance-observer.js';
import { K8sCertificates } from '../certs/k8s-certificates.js';
import type { EnsureResult } from '../certs/local-certificates.js';
import { anyInstanceName, tlsPolicyFrom } from '../certs/tls-policy.js';
import { caKeySecretName, caSecretName, serverSecretName } from './specs/names.js';
import { poolerAuthSecretName } from './specs/pooler-objects.js';
import { FENCED_INSTANCES_ANNOTATION } from '../../machines/cluster/power.logic.js';

const KIND = 'PostgresCluster';
/** On a Pod whose agent the operator holds stopped (fencing); its value says why. */
export const HELD_ANNOTATION = 'postgres.keiailab.io/held';
const POD_STOP_WAIT_MS = 90_000;
/** How long a rolling restart waits for the other instance Pods to be Ready before it stalls with their names. */
const OTHERS_READY_WAIT_MS = 120_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/keiailab/pgop';

const defaultImage = (spec: PostgresClusterSpec) => `${DEFAULT_IMAGE_REPOSITORY}:pg${spec.postgresVersion ?? 17}`;
const imageFor = (spec: PostgresClusterSpec) => spec.imageName ?? defaultImage(spec);
/** A container image reference as it may reach a Pod spec (checked again where used: catalogs may predate admission). */
const IMAGE_REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$/;

export class K8sPlatform implements PlanPlatform {
  private readonly core: CoreV1Api;
  private readonly objects: K8sObjects;
  private readonly leases = new Map<string, K8sPrimaryLease>();
  private readonly tokens = new Map<string, { token: string; at: number }>();
  private readonly certs: K8sCertificates;
  /**
   * Per cluster, the pod IPs the status beat last listed (`instances`) and those the certificate was last checked
   * against: a difference is a new address that PgBouncer or pgBackRest will verify (see instanceAddresses).
   */
  private readonly listedIps = new Map<string, string>();
  private readonly certifiedIps = new Map<string, string>();

  /** `operator` names the operator's Pods (namespace, labels) for the clusters' NetworkPolicies. */
  constructor(private readonly kc: KubeConfig, private readonly operator: OperatorPeer) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.objects = new K8sObjects(kc);
    this.certs = new K8sCertificates(kc, this.objects, tlsPolicyFrom(process.env));
  }

  private async owner(cluster: ClusterRef): Promise<Owner> {
    const obj = await this.objects.read<{ metadata: { uid?: string } } & { apiVersion: string; kind: string }>(API_VERSION, KIND, cluster.namespace, cluster.name);
    if (!obj?.metadata.uid) throw new Error(`PostgresCluster ${cluster.namespace}/${cluster.name} not found`);
    return { apiVersion: API_VERSION, kind: KIND, name: cluster.name, uid: obj.metadata.uid };
  }

  async provisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    const owner = await this.owner(cluster);
    const { namespace, name } = cluster;
    const users: Record<SecretRole, string> = { superuser: SUPERUSER, replication: REPLICATION_USER, app: spec.bootstrap?.initdb?.owner ?? 'app' };
    // Generated once: re-applying must never rotate a password behind the running instances' back.
    for (const role of SECRET_ROLES) await this.objects.createIfMissing(credentialSecret(name, namespace, owner, role, users[role], randomBytes(18).toString('base64url')));
    // Created here, empty, so the agents need no `create` on Leases (which RBAC cannot limit to one name).
    await this.objects.createIfMissing(primaryLease(name, namespace, owner));
    await this.objects.createIfMissing(agentTokenSecret(name, namespace, owner, randomBytes(32).toString('base64url')));
    await this.objects.createIfMissing(timelinesConfigMap(name, namespace, owner));
    await this.objects.applyAll([
      stateConfigMap(name, namespace, owner),
      ...clusterServices(name, namespace, owner, POSTGRES_PORT),
      ...disruptionBudgets(name, namespace, owner, spec.instances),
      networkPolicy(name, namespace, owner, this.operator),
      ...this.instanceIdentity(cluster, spec, owner),
    ]);
    await this.certs.ensure(namespace, name, owner, spec, await this.instanceAddresses(cluster));
  }

  /** Renews a cluster's server certificate when due (or when an instance is missing from it). */
  async maintainCertificates(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<EnsureResult | null> {
    // Only provisioned clusters: the CA key Secret is made by provisioning, with the owner reference.
    if (!(await this.objects.read('v1', 'Secret', cluster.namespace, caKeySecretName(cluster.name))) && !spec.certificates?.serverTLSSecret) {
      // Provisioning issues the first certificate with the addresses of that moment.
      this.certifiedIps.set(clusterKey(cluster), this.listedIps.get(clusterKey(cluster)) ?? '');
      return null;
    }
    const at = await this.instanceAddresses(cluster);
    const result = await this.certs.ensure(cluster.namespace, cluster.name, await this.owner(cluster), spec, at);
    this.certifiedIps.set(clusterKey(cluster), at.ips.join(','));
    return result;
  }

  /** A deleted cluster's addresses are no longer tracked. */
  forgetAddresses(key: string): void { this.listedIps.delete(key); this.certifiedIps.delete(key); }

  /** Clusters ("namespace/name") with a pod IP the certificate was not checked against yet (a new or re-created Pod). */
  clustersWithNewAddresses(): Set<string> {
    return new Set([...this.listedIps].filter(([key, ips]) => ips !== this.certifiedIps.get(key)).map(([key]) => key));
  }

  /**
   * The instances' names (from their PVCs) and their pods' IPs, for the certificate. Peers and the routers verify
   * by the Service name, but PgBouncer (Pooler) and a standby's pgBackRest verify the primary by its pod IP, so a
   * new IP is certified on the next status beat (clustersWithNewAddresses), not only at the periodic renewal check.
   */
  private async instanceAddresses(cluster: ClusterRef): Promise<{ instances: string[]; ips: string[] }> {
    const instances = (await this.pvcs(cluster)).map((p) => p.metadata?.labels?.[LABEL.instance] ?? '').filter(Boolean).sort();
    return { instances, ips: livePodIps(await this.pods(cluster)) };
  }

  /**
   * Everything the cluster owns goes explicitly (owner references would let the garbage collector do it, but the
   * operator must not depend on it to finish a delete); PVCs and Secrets stay when `storage.retainOnDelete`.
   */
  async deprovisionCluster(cluster: ClusterRef, spec: PostgresClusterSpec, signal: AbortSignal): Promise<void> {
    const { namespace, name } = cluster;
    const keep = spec.storage?.retainOnDelete ?? false;
    for (const pod of await this.pods(cluster)) await this.objects.delete('v1', 'Pod', namespace, pod.metadata?.name ?? '');
    // The agents keep their identity (ServiceAccount, Role) until they have stopped postgres cleanly.
    for (let waited = 0; (await this.pods(cluster)).length > 0 && waited < POD_STOP_WAIT_MS && !signal.aborted; waited += 500) await sleep(500);
    if (!keep) for (const pvc of await this.pvcs(cluster)) await this.objects.delete('v1', 'PersistentVolumeClaim', namespace, pvc.metadata?.name ?? '');
    const del = (apiVersion: string, kind: string, n: string) => this.objects.delete(apiVersion, kind, namespace, n);
    for (const s of ['rw', 'ro', 'r']) await del('v1', 'Service', `${name}-${s}`);
    for (const n of [`${name}-primary`, name]) await del('policy/v1', 'PodDisruptionBudget', n);
    await del('networking.k8s.io/v1', 'NetworkPolicy', name);
    await del('rbac.authorization.k8s.io/v1', 'RoleBinding', instanceServiceAccount(name));
    await del('rbac.authorization.k8s.io/v1', 'Role', instanceServiceAccount(name));
    await del('v1', 'ServiceAccount', instanceServiceAccount(name));
    await del('v1', 'ConfigMap', stateConfigMapName(name));
    await del('coordination.k8s.io/v1', 'Lease', primaryLeaseName(name));
    // A recreated cluster of the same name must not inherit this one's timelines (it would skip timeline ids).
    await del('v1', 'ConfigMap', timelinesConfigMapName(name));
    await del('v1', 'Secret', agentTokenSecretName(name));
    if (!keep) for (const role of SECRET_ROLES) await del('v1', 'Secret', secretName(name, role));
    if (!keep) await del('v1', 'Secret', poolerAuthSecretName(name));
    if (!keep) for (const secret of [serverSecretName(name), caSecretName(name), caKeySecretName(name)]) await del('v1', 'Secret', secret);
    this.leases.delete(`${namespace}/${name}`);
    this.tokens.delete(`${namespace}/${name}`);
  }

  private placement(cluster: ClusterRef, spec: PostgresClusterSpec, owner: Owner, instance: string, serial: number, bootstrap: 'initdb' | 'clone', image: string = imageFor(spec)): InstancePlacement {
    return {
      cluster: cluster.name, namespace: cluster.namespace, instance, serial, bootstrap, image,
      storageSize: spec.storage?.size ?? '1Gi', ...(spec.storage?.storageClass ? { storageClass: spec.storage.storageClass } : {}),
      ...(spec.postgresVersion ? { postgresVersion: spec.postgresVersion } : {}), owner,
      repositories: repositoryMounts(spec, bootstrap),
    };
  }

  /**
   * The agents' ServiceAccount, Role and RoleBinding; the Role names the S3 repository Secrets of this spec. The
   * cluster's CA key is never one of them: a repository Secret of that name would hand the agents the key.
   */
  private instanceIdentity(cluster: ClusterRef, spec: PostgresClusterSpec, owner: Owner) {
    const names = repositorySecretNames(spec);
    const reserved = [caKeySecretName(cluster.name), agentTokenSecretName(cluster.name)];
    const bad = names.find((n) => reserved.includes(n));
    if (bad) throw new RepositorySecretError(`Secret ${bad} belongs to the operator (the cluster's CA key or agent token): name your own Secret in repository.s3`);
    return instanceIdentity(cluster.name, cluster.namespace, owner, spec.certificates, names);
  }

  /**
   * A repository's Secrets changed in a running cluster (an S3 repository added or switched): the agents' Role
   * follows, and the Secrets are checked so a missing one shows in the cluster's status. The agents pick up the spec
   * themselves (instance/kubernetes-spec.ts).
   */
  async applyConfiguration(cluster: ClusterRef, spec: PostgresClusterSpec): Promise<void> {
    await this.objects.applyAll(this.instanceIdentity(cluster, spec, await this.owner(cluster)));
    await requireRepositorySecrets(this.core, cluster.namespace, repositorySecrets(spec, 'clone'));
  }

  async createInstance(input: InstanceEffectInput, spec: PostgresClusterSpec, signal?: AbortSignal): Promise<void> {
    const owner = await this.owner(input.cluster);
    // A Pod whose agent cannot read its repository's S3 Secrets would wait without end: say which Secret and key.
    await requireRepositorySecrets(this.core, input.cluster.namespace, repositorySecrets(spec, input.bootstrap), undefined, signal);
    // The primary to clone from (or, for the first instance, itself) is recorded before the Pod exists.
    await this.repoint(input.cluster, spec, input.primary ?? input.instance);
    // A clone runs what its primary runs (pg_basebackup needs the same major and build); a rolling update moves it
    // with the others afterwards. The first instance runs what the spec names.
    const primaryPod = input.primary && input.primary !== input.instance ? await this.pod(input.cluster, input.primary) : undefined;
    const image = primaryPod?.spec?.containers[0]?.image ?? imageFor(spec);
    const p = this.placement(input.cluster, spec, owner, input.instance, input.serial, input.bootstrap, image);
    await this.objects.createIfMissing(instancePvc(p));
    await this.objects.createIfMissing(instancePod(p));
  }

  /** A Pod lost while its PVC stays is created again from the PVC's record, like a StatefulSet would. */
  async recreateMissingPods(cluster: ClusterRef, spec: PostgresClusterSpec, members: string[]): Promise<string[]> {
    const pods = new Set((await this.pods(cluster)).map((p) => p.metadata?.name));
    const recreated: string[] = [];
    for (const pvc of await this.pvcs(cluster)) {
      const instance = pvc.metadata?.labels?.[LABEL.instance] ?? '';
      if (!instance || pods.has(instance) || pvc.metadata?.deletionTimestamp || !members.includes(instance)) continue;
      const a = pvc.metadata?.annotations ?? {};
      // The image the PVC records (the last one its Pod ran, or the one a rolling update is moving it to).
      const p = this.placement(cluster, spec, await this.owner(cluster), instance, Number(a['postgres.keiailab.io/serial'] ?? 0),
        a['postgres.keiailab.io/bootstrap'] === 'initdb' ? 'initdb' : 'clone', a[IMAGE_ANNOTATION] || imageFor(spec));
      if (await this.objects.createIfMissing(instancePod(p))) recreated.push(instance);
    }
    return recreated;
  }

  /**
   * Hibernation (ADR 0028): the Pod goes, its PVC stays, and the instance source does not recreate it while it is
   * listed. A checkpoint first keeps the shutdown short; the agent's SIGTERM is a fast shutdown (a
   * primary's walsenders send all WAL first). Each Pod is gone before the next one is deleted: the primary first.
   */
  async holdStopped(cluster: ClusterRef, instance: string, timeoutMs = 90_000): Promise<boolean> {
    const pod = await this.pod(cluster, instance);
    if (!pod) return false;
    await this.deletePod(cluster, instance, pod, timeoutMs, false);
    return true;
  }

  /**
   * Checkpoints and deletes `pod`, then waits until it is gone. With `replacedIsGone`, a Pod of the same name but
   * another uid counts as gone: the upkeep (recreateMissingPods) may create the successor from the PVC's record in
   * the moment between the old one's removal and this wait's next look, and that successor must not be taken for
   * the old Pod still standing (a rolling update then waited 90 s and stalled).
   */
  private async deletePod(cluster: ClusterRef, instance: string, pod: V1Pod, timeoutMs: number, replacedIsGone: boolean): Promise<void> {
    const uid = pod.metadata?.uid;
    if (!pod.metadata?.deletionTimestamp) {
      const agent = await this.agent(cluster, instance);
      // Best effort by design: the fast shutdown writes its own checkpoint, so a failed one must not block the stop.
      await agent?.post('checkpoint', {}, 30_000).catch(() => undefined);
      await this.objects.delete('v1', 'Pod', cluster.namespace, instance);
    }
    for (const until = Date.now() + timeoutMs; Date.now() < until;) {
      const now = await this.pod(cluster, instance);
      if (!now || (replacedIsGone && now.metadata?.uid !== uid)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`pod ${instance} still present ${Math.round(timeoutMs / 1000)} s after its deletion`);
  }

  // --- rolling updates (ADR 0026, 0036) ---
  /**
   * On Kubernetes an image is a container image reference and is used as it is; none named (no imageName, no
   * catalog) means the operator's default image for the cluster's major.
   */
  imageLocation(image: string | null, spec: PostgresClusterSpec): string {
    const ref = image ?? defaultImage(spec);
    if (!IMAGE_REFERENCE.test(ref)) throw new PermanentError(`image ${JSON.stringify(ref)} is not a container image reference`);
    return ref;
  }

  /**
   * Re-creates one instance's Pod on `image`, its PVC kept: the image is recorded on the PVC first (so a Pod
   * recreated by the upkeep meanwhile gets it too), then the Pod is checkpointed, deleted (the agent's SIGTERM is a
   * clean fast shutdown) and created again once gone — unless the upkeep already created its successor from the
   * PVC's record (then that one stands). A restart for settings alone goes the same way: a new Pod reads the
   * cluster's current spec. Resolves once the new Pod exists; the machine waits for its agent's reports.
   */
  async restartInstance(cluster: ClusterRef, spec: PostgresClusterSpec, instance: string, image: string): Promise<void> {
    if (!IMAGE_REFERENCE.test(image)) throw new PermanentError(`image ${JSON.stringify(image)} is not a container image reference`);
    const pvc = (await this.pvcs(cluster)).find((c) => c.metadata?.labels?.[LABEL.instance] === instance && !c.metadata.deletionTimestamp);
    if (!pvc) throw new PermanentError(`instance ${instance} has no PersistentVolumeClaim to restart on`);
    if (pvc.metadata?.annotations?.[IMAGE_ANNOTATION] !== image) {
      await this.core.patchNamespacedPersistentVolumeClaim({ namespace: cluster.namespace, name: pvcName(instance), body: { metadata: { annotations: { [IMAGE_ANNOTATION]: image } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    }
    const pod = await this.pod(cluster, instance);
    if (pod && !pod.metadata?.deletionTimestamp) await this.othersReady(cluster, instance, OTHERS_READY_WAIT_MS);
    if (pod) await this.deletePod(cluster, instance, pod, POD_STOP_WAIT_MS, true);
    const a = pvc.metadata?.annotations ?? {};
    const p = this.placement(cluster, spec, await this.owner(cluster), instance, Number(a['postgres.keiailab.io/serial'] ?? 0),
      a['postgres.keiailab.io/bootstrap'] === 'initdb' ? 'initdb' : 'clone', image);
    await this.objects.createIfMissing(instancePod(p));
  }

  /**
   * Waits until every other instance Pod (held ones aside: they stay down on purpose) is Ready, the kubelet's verdict
   * that Services route by. The machine moves on when an agent reports itself back, but the Pod's readiness probe
   * follows a few seconds later: taking the next Pod down in between left one Pod Ready of three.
   */
  private async othersReady(cluster: ClusterRef, instance: string, timeoutMs: number): Promise<void> {
    let waiting: string[] = [];
    for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(500)) {
      waiting = (await this.pods(cluster)).filter((p) => p.metadata?.name !== instance && p.metadata?.annotations?.[HELD_ANNOTATION] === undefined
        && !(p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.metadata?.name ?? '?');
      if (!waiting.length) return;
    }
    throw new Error(`not restarting ${instance}: Pod ${waiting.join(', ')} not Ready for ${Math.round(timeoutMs / 1000)} s`);
  }

  /**
   * Fencing (ADR 0037): postgres stops, the Pod and its agent stay (not ready, no role label), like CloudNativePG.
   * The Pod is marked first, so a pass after an operator restart still knows whom to release. Asked on every pass:
   * idempotent on a held agent, and it holds again an agent that restarted inside a fenced Pod. True when newly marked.
   */
  async holdInPlace(cluster: ClusterRef, instance: string): Promise<boolean> {
    const pod = await this.pod(cluster, instance);
    if (!pod || pod.metadata?.deletionTimestamp || !pod.status?.podIP) return false;
    const marked = pod.metadata?.annotations?.[HELD_ANNOTATION] !== undefined;
    if (!marked) await this.annotatePod(cluster, instance, { [HELD_ANNOTATION]: 'fenced' });
    const agent = await this.agent(cluster, instance);
    await agent?.post('hold', { reason: `fenced by ${FENCED_INSTANCES_ANNOTATION}` }, 120_000);
    return !marked;
  }

  /** Held Pods no longer listed to keep stopped get their agent released (postgres starts, the replica rejoins). */
  async releaseHeld(cluster: ClusterRef, keep: string[]): Promise<string[]> {
    const released: string[] = [];
    for (const pod of await this.pods(cluster)) {
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.annotations?.[HELD_ANNOTATION] === undefined || keep.includes(name) || pod.metadata?.deletionTimestamp) continue;
      const agent = await this.agent(cluster, name);
      if (!agent) continue;
      await agent.post('release', {}, 30_000);
      await this.annotatePod(cluster, name, { [HELD_ANNOTATION]: null });
      released.push(name);
    }
    return released;
  }

  private async annotatePod(cluster: ClusterRef, name: string, annotations: Record<string, string | null>): Promise<void> {
    await this.core.patchNamespacedPod({ namespace: cluster.namespace, name, body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch((e: unknown) => { if (httpStatus(e) !== 404) throw e; });
  }

  async podExists(cluster: ClusterRef, instance: string): Promise<boolean> {
    return !!instance && (await this.pod(cluster, instance)) !== undefined;
  }

  /** Scale-down: the volume goes first so nothing recreates the Pod, then the Pod. */
  async removeInstance(input: InstanceEffectInput): Promise<void> {
    await this.objects.delete('v1', 'PersistentVolumeClaim', input.cluster.namespace, pvcName(input.instance));
    await this.objects.delete('v1', 'Pod', input.cluster.namespace, input.instance);
  }

  async superuserEndpoint(cluster: ClusterRef, instance: string): Promise<Endpoint> {
    const ip = await this.podIP(cluster, instance);
    if (!ip) throw new Error(`instance ${instance} has no running pod`);
    const obj = await this.objects.read<{ apiVersion: string; kind: string; metadata: object; spec?: PostgresClusterSpec }>(API_VERSION, KIND, cluster.namespace, cluster.name);
    // verify-full: the pod IP is dialled, the certificate must name the "any instance" Service.
    const tls = { caPem: await this.certs.caPem(cluster.namespace, cluster.name, obj?.spec ?? { instances: 1, primaryUpdateStrategy: 'unsupervised' }), serverName: anyInstanceName(cluster.name, cluster.namespace) };
    return { host: ip, port: POSTGRES_PORT, user: SUPERUSER, password: await this.password(cluster, 'superuser'), tls };
  }

  async password(cluster: ClusterRef, role: SecretRole): Promise<string> {
    const s = await this.core.readNamespacedSecret({ namespace: cluster.namespace, name: secretName(cluster.name, role) });
    return Buffer.from(s.data?.password ?? '', 'base64').toString('utf8');
  }

  lease(cluster: ClusterRef): PrimaryLease {
    const key = `${cluster.namespace}/${cluster.name}`;
    let lease = this.leases.get(key);
    if (!lease) { lease = new K8sPrimaryLease(this.kc, cluster); this.leases.set(key, lease); }
    return lease;
  }

  async agent(cluster: ClusterRef, instance: string): Promise<AgentClient | null> {
    const ip = await this.podIP(cluster, instance);
    return ip ? new AgentClient(`http://${ip}:${AGENT_PORT}`, { name: instance, host: ip, port: POSTGRES_PORT }, await this.agentToken(cluster)) : null;
  }

  /** The cluster's agent API token, re-read from its Secret every few seconds (a recreated cluster has a new one). */
  async agentToken(cluster: ClusterRef): Promise<string> {
    const key = `${cluster.namespace}/${cluster.name}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() - cached.at < 10_000) return cached.token;
    const s = await this.core.readNamespacedSecret({ namespace: cluster.namespace, name: agentTokenSecretName(cluster.name) });
    const token = Buffer.from(s.data?.[AGENT_TOKEN_KEY] ?? '', 'base64').toString('utf8');
    if (!token) throw new Error(`Secret ${agentTokenSecretName(cluster.name)} has no ${AGENT_TOKEN_KEY} key`);
    this.tokens.set(key, { token, at: Date.now() });
    return token;
  }

  /** Gone means no Pod, or a Pod whose containers have all terminated: nothing of it can serve writes. */
  async instanceGone(cluster: ClusterRef, instance: string): Promise<boolean> {
    const pod = await this.pod(cluster, instance);
    return !pod || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded';
  }

  async repoint(cluster: ClusterRef, _spec: PostgresClusterSpec, newPrimary: string): Promise<void> {
    await this.objects.apply(primaryConfigMap(cluster.name, cluster.namespace, newPrimary), `${FIELD_MANAGER}-primary`);
  }

  /** The -rw Service selects role=primary: without the label the Pod leaves its endpoints. */
  async unroute(cluster: ClusterRef, instance: string): Promise<string> {
    await this.labelRoles(cluster, () => ({ [instance]: null }));
    return `role label removed from Pod ${instance} (out of the -rw Service)`;
  }

  /**
   * A Pod whose agent does not answer after its lease expired is deleted with a zero grace period. When its node is
   * not Ready (unreachable), nothing else would ever remove it: the kubelet that would kill it cannot be reached,
   * and the Pod's role label is already gone, so no Service sends it traffic. The record says which case it was.
   */
  async fenceUnresponsive(cluster: ClusterRef, instance: string): Promise<string> {
    const pod = await this.pod(cluster, instance);
    if (!pod) return 'no Pod: nothing to fence';
    const nodeName = pod.spec?.nodeName;
    const node = nodeName ? await this.nodeReady(nodeName) : 'unknown';
    await this.core.deleteNamespacedPod({ namespace: cluster.namespace, name: instance, gracePeriodSeconds: 0 })
      .catch((e: unknown) => { if (httpStatus(e) !== 404) throw e; });
    return `Pod ${instance} deleted with grace period 0 (node ${nodeName ?? '-'}: ${node})`;
  }

  private async nodeReady(name: string): Promise<string> {
    try {
      const node = await this.core.readNode({ name });
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' ? 'Ready' : `not Ready (${ready?.status ?? 'no condition'})`;
    } catch (e) {
      return `not readable (${httpStatus(e) ?? (e as Error).message})`;
    }
  }

  /** The -rw Service selects role=primary: the new primary gets the label, every other instance `replica`. */
  async reroute(cluster: ClusterRef, newPrimary: string): Promise<void> {
    await this.labelRoles(cluster, (pods) => desiredRoleLabels({ pods, primary: newPrimary, fenced: null }));
  }

  /**
   * The operator is the only writer of role labels. `decide` runs after the Pods are listed, so it reads the
   * freshest primary record; a label already right is not patched.
   */
  async labelRoles(cluster: ClusterRef, decide: (pods: string[]) => Record<string, RoleLabel | null>): Promise<void> {
    const pods = (await this.pods(cluster)).filter((p) => !p.metadata?.deletionTimestamp);
    const want = decide(pods.map((p) => p.metadata?.name ?? ''));
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      if (!(name in want)) continue;
      const role = want[name] ?? null;
      if ((pod.metadata?.labels?.[LABEL.role] ?? null) === role) continue;
      await this.core.patchNamespacedPod({ namespace: cluster.namespace, name, body: { metadata: { labels: { [LABEL.role]: role } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch((e: unknown) => { if (httpStatus(e) !== 404) throw e; });
    }
  }

  /** The instances of a cluster as their PVCs record them, with the agent's address while the Pod runs. */
  async instances(cluster: ClusterRef): Promise<ObservedInstance[]> {
    const listed = await this.pods(cluster);
    this.listedIps.set(clusterKey(cluster), livePodIps(listed).join(','));
    const pods = new Map(listed.map((p) => [p.metadata?.name ?? '', p]));
    return (await this.pvcs(cluster)).filter((c) => !c.metadata?.deletionTimestamp).map((pvc) => {
      const name = pvc.metadata?.labels?.[LABEL.instance] ?? '';
      const pod = pods.get(name);
      const ip = pod && !pod.metadata?.deletionTimestamp ? pod.status?.podIP : undefined;
      return { namespace: cluster.namespace, cluster: cluster.name, name, agent: ip ? { url: `http://${ip}:${AGENT_PORT}`, host: ip, port: POSTGRES_PORT } : null };
    });
  }

  async pods(cluster: ClusterRef): Promise<V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `${LABEL.cluster}=${cluster.name},${LABEL.instance}` })).items;
  }

  private async pvcs(cluster: ClusterRef): Promise<V1PersistentVolumeClaim[]> {
    return (await this.core.listNamespacedPersistentVolumeClaim({ namespace: cluster.namespace, labelSelector: `${LABEL.cluster}=${cluster.name},${LABEL.instance}` })).items;
  }

  private async pod(cluster: ClusterRef, instance: string): Promise<V1Pod | undefined> {
    try { return await this.core.readNamespacedPod({ namespace: cluster.namespace, name: instance }); } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw e;
    }
  }

  private async podIP(cluster: ClusterRef, instance: string): Promise<string | undefined> {
    const pod = await this.pod(cluster, instance);
    return pod && !pod.metadata?.deletionTimestamp ? pod.status?.podIP : undefined;
  }
}

const clusterKey = (c: ClusterRef) => `${c.namespace}/${c.name}`;

function livePodIps(pods: V1Pod[]): string[] {
  return pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.status?.podIP ?? '').filter(Boolean).sort();
}
