// Services for a cluster: -rw reaches the primary, -ro the replicas, -r any instance (like CloudNativePG).
import { LABEL, clusterLabels, ownedBy, type Owner } from './labels.js';

export function clusterServices(cluster: string, namespace: string, owner: Owner, port = 5432) {
  const svc = (suffix: string, role: string | null) => ({
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: `${cluster}-${suffix}`, namespace, labels: clusterLabels(cluster), ownerReferences: ownedBy(owner) },
    spec: {
      type: 'ClusterIP',
      ports: [{ name: 'postgres', port, targetPort: 5432, protocol: 'TCP' }],
      selector: { [LABEL.cluster]: cluster, ...(role ? { [LABEL.role]: role } : {}) },
    },
  });
  return [svc('rw', 'primary'), svc('ro', 'replica'), svc('r', null)];
}
