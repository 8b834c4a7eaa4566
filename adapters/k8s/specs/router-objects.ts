// A cluster's router on Kubernetes (a sharded cluster's, or an unsharded one's with spec.router.enabled): a Deployment of stateless `pgop router --kubernetes` pods (at least two),
// the Service `<cluster>-router`, the ConfigMap they build their router.json from, the pods' read-only identity and a
// NetworkPolicy. The ConfigMap holds the routing table the operator derived from the Ready ShardRanges and names the
// Secrets (each shard's CA, the login check's password, the router's certificate); the pods read those through the
// API themselves, so no secret value is ever in the ConfigMap. An unsharded cluster's read-only router is the same set
// named `<cluster>-router-ro`, with the ready replicas in its ConfigMap (ADR 0043). Pure builders.
import { ownedBy, type Owner } from './labels.js';
import { restrictedContainer, POSTGRES_UID } from './pod.js';
import { RUN_MOUNT } from './names.js';

export const ROUTER_PORT = 5432;
export const ROUTER_METRICS_PORT = 9128;
export const ROUTER_CONFIG_KEY = 'router.json';
/** Stateless: at least two pods so that one pod's loss or rollout never leaves the Service empty. */
export const ROUTER_REPLICAS = 2;
/** The Deployment, Service, ConfigMap, ServiceAccount, Role and NetworkPolicy all carry this name. */
export const routerName = (cluster: string) => `${cluster}-router`;
/** The same for an unsharded cluster's read-only router (spec.router.readOnly, ADR 0043). */
export const readOnlyRouterName = (cluster: string) => `${cluster}-router-ro`;
const objectName = (p: Pick<RouterPlacement, 'cluster' | 'readOnly'>) => (p.readOnly ? readOnlyRouterName(p.cluster) : routerName(p.cluster));
/** The router's server certificate (kubernetes.io/tls), issued by the first shard's CA (an unsharded cluster's own). */
export const routerTlsSecretName = (cluster: string) => `${cluster}-router-tls`;
/** The password of the lookup role pgop_router (ADR 0039) on the cluster whose roles check logins; generated once. */
export const routerAuthSecretName = (cluster: string) => `${cluster}-router-auth`;

export const ROUTER_LABEL = 'postgres.keiailab.io/router';

// The read-only router's pods differ by app.kubernetes.io/name, not by the router label's value: a cluster may itself
// be named `<x>-ro`, and the read-write Deployment's selector (immutable) must not take in the read-only pods.
const appName = (readOnly = false) => (readOnly ? 'pgop-router-ro' : 'pgop-router');
export const routerLabels = (cluster: string, readOnly = false): Record<string, string> => ({
  'app.kubernetes.io/name': appName(readOnly), 'app.kubernetes.io/managed-by': 'pgop', 'app.kubernetes.io/part-of': 'pgop',
  'postgres.keiailab.io/cluster': cluster, [ROUTER_LABEL]: cluster,
});
const selector = (cluster: string, readOnly = false) => ({ [ROUTER_LABEL]: cluster, 'app.kubernetes.io/name': appName(readOnly) });

export interface SecretKeyRef { secret: string; key: string }

/**
 * What the pods turn into router.json. Shard hosts are the shards' primary pod IPs (in each shard's certificate, so
 * verify-full holds), verified against that shard's own CA; the operator rewrites them after a failover.
 */
export interface RouterPodConfig {
  cluster: string;
  /** The highest ShardRange version; 0 for an unsharded cluster. */
  generation: number;
  /** A sharded cluster's shards; empty for an unsharded cluster, which has `backend` instead. */
  shards: { name: string; host: string; port: number; servername: string; ca: SecretKeyRef }[];
  /** An unsharded cluster (spec.router.enabled, ADR 0034): its primary, like a shard's, verified against its CA. */
  backend?: { host: string; port: number; servername: string; ca: SecretKeyRef };
  /**
   * The read-only router (ADR 0043): the ready streaming replicas' pod IPs, which the pod spreads its backend
   * connections over; verified against the cluster's CA by `servername`. Empty while no replica is ready.
   */
  replicas?: { targets: { host: string; port: number }[]; servername: string; ca: SecretKeyRef };
  tables: Record<string, { column: string; type: 'integer' | 'text' }>;
  referenceTables: string[];
  /** The least-privilege lookup role (pgop_router, ADR 0039) reading the logins' verifiers on the first shard. */
  auth: { user: string; database: string; password: SecretKeyRef };
  /** The certificate the router serves to clients: tls.crt and tls.key of this Secret. */
  tls: { secret: string };
  pool: { size: number };
}

/** Defaults of spec.router.replicas and spec.router.poolSize on Kubernetes. */
export const ROUTER_POOL_SIZE = 20;
export const ROUTER_POOL_ANNOTATION = 'postgres.keiailab.io/router-pool-size';

/** `readOnly`: the read-only router's objects (`<cluster>-router-ro`) instead of the read-write one's. */
export interface RouterPlacement { cluster: string; namespace: string; image: string; owner: Owner; replicas: number; poolSize: number; readOnly?: boolean }

const meta = (p: RouterPlacement, name: string) => ({ name, namespace: p.namespace, labels: routerLabels(p.cluster, p.readOnly), ownerReferences: ownedBy(p.owner) });

export const routerConfigMap = (p: RouterPlacement, config: RouterPodConfig) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(p, objectName(p)),
  data: { [ROUTER_CONFIG_KEY]: JSON.stringify(config) },
});

export function routerDeployment(p: RouterPlacement) {
  const name = objectName(p);
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(p, name),
    spec: {
      replicas: Math.max(ROUTER_REPLICAS, p.replicas),
      selector: { matchLabels: selector(p.cluster, p.readOnly) },
      // A new pod is ready before an old one goes: the Service always has a router behind it.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        // A router sizes its pools when it starts (a reload keeps them): a new size rolls the pods.
        metadata: { labels: routerLabels(p.cluster, p.readOnly), annotations: { [ROUTER_POOL_ANNOTATION]: String(p.poolSize) } },
        spec: {
          serviceAccountName: name,
          automountServiceAccountToken: true,
          securityContext: { runAsNonRoot: true, runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, fsGroup: POSTGRES_UID, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          // Spread over nodes where possible: two routers on one node fall together.
          affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector(p.cluster, p.readOnly) } } },
          ] } },
          containers: [{
            name: 'router', image: p.image, args: ['router', '--kubernetes'],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'PGOP_ROUTER_CLUSTER', value: p.cluster },
              { name: 'PGOP_ROUTER_CONFIGMAP', value: name },
              { name: 'PGOP_RUN_DIR', value: RUN_MOUNT },
            ],
            ports: [{ name: 'postgres', containerPort: ROUTER_PORT }, { name: 'metrics', containerPort: ROUTER_METRICS_PORT }],
            readinessProbe: { httpGet: { path: '/readyz', port: ROUTER_METRICS_PORT }, periodSeconds: 2, failureThreshold: 2 },
            livenessProbe: { httpGet: { path: '/healthz', port: ROUTER_METRICS_PORT }, periodSeconds: 10, failureThreshold: 6 },
            volumeMounts: [{ name: 'run', mountPath: RUN_MOUNT }, { name: 'tmp', mountPath: '/tmp' }],
            securityContext: restrictedContainer(),
          }],
          volumes: [{ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

export const routerService = (p: RouterPlacement) => ({
  apiVersion: 'v1', kind: 'Service', metadata: meta(p, objectName(p)),
  spec: {
    type: 'ClusterIP', selector: selector(p.cluster, p.readOnly),
    ports: [
      { name: 'postgres', port: ROUTER_PORT, targetPort: ROUTER_PORT, protocol: 'TCP' },
      { name: 'metrics', port: ROUTER_METRICS_PORT, targetPort: ROUTER_METRICS_PORT, protocol: 'TCP' },
    ],
  },
});

/** The Secrets the pods read: each shard's CA, the auth password and the router certificate. */
export const routerSecrets = (config: RouterPodConfig): string[] =>
  [...new Set([...config.shards.map((s) => s.ca.secret), ...(config.backend ? [config.backend.ca.secret] : []), ...(config.replicas ? [config.replicas.ca.secret] : []),
    config.auth.password.secret, config.tls.secret])];

/** The pods read their ConfigMap and the Secrets it names; nothing else, and they write nothing. */
export function routerIdentity(p: RouterPlacement, config: RouterPodConfig) {
  const name = objectName(p);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(p, name) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(p, name),
      rules: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [name], verbs: ['get'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: routerSecrets(config), verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(p, name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: p.namespace }],
    },
  ];
}

/** Clients from the namespace's workloads (like the shards themselves); metrics from any namespace (Prometheus). */
export const routerNetworkPolicy = (p: RouterPlacement) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(p, objectName(p)),
  spec: {
    podSelector: { matchLabels: selector(p.cluster, p.readOnly) },
    policyTypes: ['Ingress'],
    ingress: [
      { ports: [{ protocol: 'TCP', port: ROUTER_PORT }], from: [{ podSelector: {} }] },
      { ports: [{ protocol: 'TCP', port: ROUTER_METRICS_PORT }], from: [{ namespaceSelector: {} }] },
    ],
  },
});

/** The names a client may verify the router by: its Services (read-write and read-only) in every form. */
export function routerServerNames(cluster: string, namespace: string): { dns: string[]; ips: string[] } {
  const forms = (svc: string) => [svc, `${svc}.${namespace}`, `${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.cluster.local`];
  return { dns: [...forms(routerName(cluster)), ...forms(readOnlyRouterName(cluster)), 'localhost'], ips: ['127.0.0.1'] };
}

/** The router certificate Secret, in the kubernetes.io/tls shape, with the issuing CA beside it. */
export const routerTlsSecret = (p: Pick<RouterPlacement, 'cluster' | 'namespace' | 'owner'>, crt: string, key: string, caCrt: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
  metadata: { name: routerTlsSecretName(p.cluster), namespace: p.namespace, labels: routerLabels(p.cluster), ownerReferences: ownedBy(p.owner) },
  data: Object.fromEntries(Object.entries({ 'tls.crt': crt, 'tls.key': key, 'ca.crt': caCrt }).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
});

/** The lookup role's password Secret (basic-auth), owned by the router's cluster and removed with the router. */
export const routerAuthSecret = (p: Pick<RouterPlacement, 'cluster' | 'namespace' | 'owner'>, username: string, password: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
  metadata: { name: routerAuthSecretName(p.cluster), namespace: p.namespace, labels: routerLabels(p.cluster), ownerReferences: ownedBy(p.owner) },
  stringData: { username, password },
});

const ownObjects = (name: string): [string, string, string][] => [
  ['apps/v1', 'Deployment', name], ['v1', 'Service', name], ['networking.k8s.io/v1', 'NetworkPolicy', name], ['v1', 'ConfigMap', name],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding', name], ['rbac.authorization.k8s.io/v1', 'Role', name], ['v1', 'ServiceAccount', name],
];

/** The read-only router's own objects, for removal when spec.router.readOnly goes (the Secrets stay: shared). */
export const readOnlyRouterObjectRefs = (cluster: string): [string, string, string][] => ownObjects(readOnlyRouterName(cluster));

/** Every object the routers of a cluster own (read-only one included), for removal (apiVersion, kind, name). */
export const routerObjectRefs = (cluster: string): [string, string, string][] => [
  ...ownObjects(routerName(cluster)), ...readOnlyRouterObjectRefs(cluster),
  ['v1', 'Secret', routerTlsSecretName(cluster)], ['v1', 'Secret', routerAuthSecretName(cluster)],
];
