// A Pooler's objects on Kubernetes: a Deployment of PgBouncer pods (`pgop pooler --kubernetes`, which renders
// pgbouncer.ini from the ConfigMap below and runs PgBouncer beside a small Prometheus exporter), the Service
// `<pooler>`, the pods' least-privilege identity and a NetworkPolicy. Pure builders.
import type { PoolerSpec } from '../../../crds/pooler.js';
import { ownedBy, type Owner } from './labels.js';
import { restrictedContainer, POSTGRES_UID } from './pod.js';
import { RUN_MOUNT } from './names.js';

export const POOLER_PORT = 5432;
export const POOLER_METRICS_PORT = 9127;
export const POOLER_CONFIG_KEY = 'pooler.json';
/** The one ConfigMap a pooler's pods read (and the name of their Deployment, Service, ServiceAccount and Role). */
export const poolerConfigMapName = (pooler: string) => `${pooler}-pgbouncer`;
export const poolerServiceAccount = (pooler: string) => `${pooler}-pooler`;
/** The auth user's password, one per cluster (the role `pgop_pooler` is shared by the cluster's poolers). */
export const poolerAuthSecretName = (cluster: string) => `${cluster}-pooler-auth`;

export const POOLER_LABEL = 'postgres.keiailab.io/pooler';

export const poolerLabels = (pooler: string, cluster: string): Record<string, string> => ({
  'app.kubernetes.io/name': 'pgbouncer', 'app.kubernetes.io/managed-by': 'pgop', 'app.kubernetes.io/part-of': 'pgop',
  'postgres.keiailab.io/cluster': cluster, [POOLER_LABEL]: pooler,
});
const selector = (pooler: string) => ({ [POOLER_LABEL]: pooler, 'app.kubernetes.io/name': 'pgbouncer' });

/** Where server connections go, as the pods need it (verify-full checks `host` against the certificate). */
export interface PoolerServer { host: string; port: number; databases: string[] }

/** The Secrets holding what PgBouncer's TLS needs (the cluster's CA and server certificate). */
export interface PoolerTlsSources { caSecret: string; caKey: string; serverSecret: string }

/** What the pods render pgbouncer.ini from; the renderer checks the spec again in the pod. */
export interface PoolerPodConfig {
  cluster: string;
  spec: PoolerSpec;
  server: PoolerServer | null;
  authSecret: string;
  tls: PoolerTlsSources | null;
}

export interface PoolerPlacement {
  name: string;
  namespace: string;
  cluster: string;
  image: string;
  owner: Owner;
  instances: number;
}

const meta = (p: PoolerPlacement, name: string) => ({ name, namespace: p.namespace, labels: poolerLabels(p.name, p.cluster), ownerReferences: ownedBy(p.owner) });

export const poolerConfigMap = (p: PoolerPlacement, config: PoolerPodConfig) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(p, poolerConfigMapName(p.name)),
  data: { [POOLER_CONFIG_KEY]: JSON.stringify(config) },
});

export function poolerDeployment(p: PoolerPlacement) {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(p, p.name),
    spec: {
      replicas: p.instances,
      selector: { matchLabels: selector(p.name) },
      // A new pod is ready before an old one goes: clients always find a PgBouncer.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: poolerLabels(p.name, p.cluster) },
        spec: {
          serviceAccountName: poolerServiceAccount(p.name),
          automountServiceAccountToken: true,
          securityContext: { runAsNonRoot: true, runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, fsGroup: POSTGRES_UID, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 30,
          containers: [{
            name: 'pgbouncer', image: p.image, args: ['pooler', '--kubernetes'],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
              { name: 'PGOP_POOLER', value: p.name },
              { name: 'PGOP_RUN_DIR', value: RUN_MOUNT },
            ],
            ports: [{ name: 'pgbouncer', containerPort: POOLER_PORT }, { name: 'metrics', containerPort: POOLER_METRICS_PORT }],
            readinessProbe: { httpGet: { path: '/readyz', port: POOLER_METRICS_PORT }, periodSeconds: 2, failureThreshold: 2 },
            livenessProbe: { httpGet: { path: '/healthz', port: POOLER_METRICS_PORT }, periodSeconds: 10, failureThreshold: 6 },
            volumeMounts: [{ name: 'run', mountPath: RUN_MOUNT }, { name: 'tmp', mountPath: '/tmp' }],
            securityContext: restrictedContainer(),
          }],
          volumes: [{ name: 'run', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };
}

export const poolerService = (p: PoolerPlacement) => ({
  apiVersion: 'v1', kind: 'Service', metadata: meta(p, p.name),
  spec: {
    type: 'ClusterIP', selector: selector(p.name),
    ports: [
      { name: 'pgbouncer', port: POOLER_PORT, targetPort: POOLER_PORT, protocol: 'TCP' },
      { name: 'metrics', port: POOLER_METRICS_PORT, targetPort: POOLER_METRICS_PORT, protocol: 'TCP' },
    ],
  },
});

/** The pods read their ConfigMap and the few Secrets named in it; nothing else, and they write nothing. */
export function poolerIdentity(p: PoolerPlacement, config: PoolerPodConfig) {
  const name = poolerServiceAccount(p.name);
  const secrets = [config.authSecret, ...(config.tls ? [config.tls.caSecret, config.tls.serverSecret] : [])];
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(p, name) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(p, name),
      rules: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [poolerConfigMapName(p.name)], verbs: ['get'] },
        { apiGroups: [''], resources: ['secrets'], resourceNames: [...new Set(secrets)], verbs: ['get'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(p, name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: p.namespace }],
    },
  ];
}

/** PgBouncer from the namespace's workloads (like the cluster itself); metrics from any namespace (Prometheus). */
export const poolerNetworkPolicy = (p: PoolerPlacement) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(p, p.name),
  spec: {
    podSelector: { matchLabels: selector(p.name) },
    policyTypes: ['Ingress'],
    ingress: [
      { ports: [{ protocol: 'TCP', port: POOLER_PORT }], from: [{ podSelector: {} }] },
      { ports: [{ protocol: 'TCP', port: POOLER_METRICS_PORT }], from: [{ namespaceSelector: {} }] },
    ],
  },
});

/** The per-cluster auth Secret, generated once and owned by the cluster. */
export const poolerAuthSecret = (cluster: string, namespace: string, owner: Owner, password: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
  metadata: { name: poolerAuthSecretName(cluster), namespace, labels: { 'postgres.keiailab.io/cluster': cluster, 'app.kubernetes.io/managed-by': 'pgop' }, ownerReferences: ownedBy(owner) },
  stringData: { username: 'pgop_pooler', password },
});
