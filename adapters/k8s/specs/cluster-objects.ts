// The per-cluster objects besides Pods, PVCs and Services: the state ConfigMap, PodDisruptionBudgets, the
// NetworkPolicy, and the least-privilege identity the instance agents run with.
import { LABEL, clusterLabels, ownedBy, type Owner } from './labels.js';
import {
  AGENT_PORT, AGENT_TOKEN_KEY, POSTGRES_PORT, SECRET_ROLES, agentTokenSecretName, instanceServiceAccount, primaryLeaseName, secretName, stateConfigMapName, timelinesConfigMapName, tlsSources,
} from './names.js';
import { GROUP } from '../../../crds/definition.js';
import { operatorPeerSelector, type OperatorPeer } from './operator-peer.js';
import { PGBACKREST_TLS_PORT } from '../../backup/pgbackrest-config.js';

const meta = (name: string, namespace: string, cluster: string, owner: Owner) => ({ name, namespace, labels: clusterLabels(cluster), ownerReferences: ownedBy(owner) });

/** Applied without the primary key: that one has its own field manager (repointing), so applies never fight. */
export const stateConfigMap = (cluster: string, namespace: string, owner: Owner) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(stateConfigMapName(cluster), namespace, cluster, owner), data: { cluster },
});

export const primaryConfigMap = (cluster: string, namespace: string, primary: string) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: stateConfigMapName(cluster), namespace }, data: { primary },
});

/** A voluntary eviction never takes the primary, and takes at most one replica at a time. */
export function disruptionBudgets(cluster: string, namespace: string, owner: Owner, instances: number) {
  const pdb = (suffix: string, role: string, budget: Record<string, number>) => ({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta(`${cluster}${suffix}`, namespace, cluster, owner),
    spec: { ...budget, selector: { matchLabels: { [LABEL.cluster]: cluster, [LABEL.role]: role } } },
  });
  return [pdb('-primary', 'primary', { minAvailable: 1 }), ...(instances > 1 ? [pdb('', 'replica', { maxUnavailable: 1 })] : [])];
}

/**
 * PostgreSQL is reachable from the namespace's workloads and from the operator (its own SQL: slots, users); the
 * agent API only from the operator, named by its namespace and its Pods' labels (not any Pod of any namespace that
 * calls itself an operator); pgBackRest's TLS server only from the cluster's own Pods.
 */
export const networkPolicy = (cluster: string, namespace: string, owner: Owner, operator: OperatorPeer) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(cluster, namespace, cluster, owner),
  spec: {
    podSelector: { matchLabels: { [LABEL.cluster]: cluster } },
    policyTypes: ['Ingress'],
    ingress: [
      { ports: [{ protocol: 'TCP', port: POSTGRES_PORT }], from: [{ podSelector: {} }, operatorPeerSelector(operator)] },
      { ports: [{ protocol: 'TCP', port: AGENT_PORT }], from: [operatorPeerSelector(operator)] },
      // Prometheus scrapes the agents' /metrics on the same port (the API beside it still needs the token).
      ...(operator.metricsNamespace ? [{ ports: [{ protocol: 'TCP', port: AGENT_PORT }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operator.metricsNamespace } } }] }] : []),
      // pgBackRest's TLS server: only this cluster's instance Pods (not its poolers; a standby backing up reaches the primary; ADR 0035).
      { ports: [{ protocol: 'TCP', port: PGBACKREST_TLS_PORT }], from: [{ podSelector: { matchLabels: { [LABEL.cluster]: cluster }, matchExpressions: [{ key: LABEL.instance, operator: 'Exists' }] } }] },
    ],
  },
});

/**
 * What an agent may do: read its cluster, its Secrets and the state ConfigMap, read the Pods (members, the
 * primary's address), hold the primary Lease. It writes nothing else: role labels are the operator's (from the
 * cluster's primary record), so a compromised instance cannot move the -rw Service to itself.
 */
export function instanceIdentity(cluster: string, namespace: string, owner: Owner, certificates?: { serverTLSSecret?: string; serverCASecret?: string }, repositorySecrets: string[] = []) {
  const name = instanceServiceAccount(cluster);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, namespace, cluster, owner) },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(name, namespace, cluster, owner), rules: instanceRules(cluster, certificates, repositorySecrets) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(name, namespace, cluster, owner),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ];
}

/**
 * The agents' Role rules; the operator holds each of them itself, so it can grant them without `escalate`/`bind`.
 * `repositorySecrets` are the user's S3 Secrets the spec names (credentials, CA): readable by name, nothing else.
 */
export const instanceRules = (cluster: string, certificates?: { serverTLSSecret?: string; serverCASecret?: string }, repositorySecrets: string[] = []) => [
  { apiGroups: [GROUP], resources: ['postgresclusters'], resourceNames: [cluster], verbs: ['get'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
  // The server certificate and the CA's public part; never the CA key.
  { apiGroups: [''], resources: ['secrets'], resourceNames: [...new Set([...SECRET_ROLES.map((r) => secretName(cluster, r)), tlsSources(cluster, certificates).server, tlsSources(cluster, certificates).ca, ...repositorySecrets])], verbs: ['get'] },
  { apiGroups: [''], resources: ['configmaps'], resourceNames: [stateConfigMapName(cluster)], verbs: ['get'] },
  { apiGroups: [''], resources: ['configmaps'], resourceNames: [timelinesConfigMapName(cluster)], verbs: ['get', 'update'] },
  // The operator creates the Lease at provisioning: `create` cannot be limited by name, so agents get none.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [primaryLeaseName(cluster)], verbs: ['get', 'update', 'patch'] },
];

/** The primary Lease, created empty by the operator; the agents only take, renew and release it. */
export const primaryLease = (cluster: string, namespace: string, owner: Owner) => ({
  apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta(primaryLeaseName(cluster), namespace, cluster, owner), spec: {},
});

/** Generated once; `kubernetes.io/basic-auth` so tools recognise username/password. */
export const credentialSecret = (cluster: string, namespace: string, owner: Owner, role: (typeof SECRET_ROLES)[number], username: string, password: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
  metadata: meta(secretName(cluster, role), namespace, cluster, owner),
  stringData: { username, password },
});

/** The agents' API token: random, generated once, reaching the agents only through a secretKeyRef. */
export const agentTokenSecret = (cluster: string, namespace: string, owner: Owner, token: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
  metadata: meta(agentTokenSecretName(cluster), namespace, cluster, owner),
  stringData: { [AGENT_TOKEN_KEY]: token },
});

/** Created empty with the cluster (the agents may only update it), so its life is the cluster's. */
export const timelinesConfigMap = (cluster: string, namespace: string, owner: Owner) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(timelinesConfigMapName(cluster), namespace, cluster, owner), data: {},
});
