// The per-cluster objects besides Pods, PVCs and Services: the state ConfigMap, PodDisruptionBudgets, the
// NetworkPolicy, and the least-privilege identity the instance agents run with.
import { LABEL, clusterLabels, ownedBy, type Owner } from './labels.js';
import { AGENT_PORT, POSTGRES_PORT, SECRET_ROLES, instanceServiceAccount, secretName, stateConfigMapName, tlsSources } from './names.js';
import { GROUP } from '../../../crds/definition.js';

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

/** PostgreSQL is reachable from the namespace's workloads; the agent API only from the operator. */
export const networkPolicy = (cluster: string, namespace: string, owner: Owner) => ({
  apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(cluster, namespace, cluster, owner),
  spec: {
    podSelector: { matchLabels: { [LABEL.cluster]: cluster } },
    policyTypes: ['Ingress'],
    ingress: [
      { ports: [{ protocol: 'TCP', port: POSTGRES_PORT }], from: [{ podSelector: {} }] },
      { ports: [{ protocol: 'TCP', port: AGENT_PORT }], from: [{ namespaceSelector: {}, podSelector: { matchLabels: { [LABEL.name]: 'pgop-operator' } } }] },
    ],
  },
});

/** What an agent may do: read its cluster and its Secrets, follow the Pods, label itself, hold the primary Lease. */
export function instanceIdentity(cluster: string, namespace: string, owner: Owner, certificates?: { serverTLSSecret?: string; serverCASecret?: string }) {
  const tls = tlsSources(cluster, certificates);
  const name = instanceServiceAccount(cluster);
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, namespace, cluster, owner) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(name, namespace, cluster, owner),
      rules: [
        { apiGroups: [GROUP], resources: ['postgresclusters'], resourceNames: [cluster], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'patch'] },
        // The server certificate and the CA's public part; never the CA key.
        { apiGroups: [''], resources: ['secrets'], resourceNames: [...new Set([...SECRET_ROLES.map((r) => secretName(cluster, r)), tls.server, tls.ca])], verbs: ['get'] },
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [stateConfigMapName(cluster)], verbs: ['get'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [`${cluster}-primary`], verbs: ['get', 'update', 'patch'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(name, namespace, cluster, owner),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ];
}

/** Generated once; `kubernetes.io/basic-auth` so tools recognise username/password. */
export const credentialSecret = (cluster: string, namespace: string, owner: Owner, role: (typeof SECRET_ROLES)[number], username: string, password: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/basic-auth',
  metadata: meta(secretName(cluster, role), namespace, cluster, owner),
  stringData: { username, password },
});
