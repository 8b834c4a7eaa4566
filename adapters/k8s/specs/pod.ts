// The Pod and PVC of one instance. Pods are managed directly (no StatefulSet) so updates can be primary-aware,
// and the PVC outlives the Pod: a recreated Pod finds its data.
import { LABEL, clusterLabels, ownedBy, type Owner } from './labels.js';

export interface InstancePlacement {
  cluster: string;
  namespace: string;
  instance: string;
  serial: number;
  bootstrap: 'initdb' | 'clone';
  image: string;
  storageSize: string;
  storageClass?: string;
  owner: Owner;
}

export const pvcName = (instance: string) => `${instance}-data`;

export function instancePvc(p: InstancePlacement) {
  return {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    metadata: { name: pvcName(p.instance), namespace: p.namespace, labels: { ...clusterLabels(p.cluster), [LABEL.instance]: p.instance } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: p.storageSize } },
      ...(p.storageClass ? { storageClassName: p.storageClass } : {}),
    },
  };
}

export function instancePod(p: InstancePlacement) {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: p.instance, namespace: p.namespace,
      labels: { ...clusterLabels(p.cluster), [LABEL.instance]: p.instance },
      annotations: { 'postgres.keiailab.io/serial': String(p.serial), 'postgres.keiailab.io/bootstrap': p.bootstrap },
      ownerReferences: ownedBy(p.owner),
    },
    spec: {
      serviceAccountName: `${p.cluster}-instance`,
      securityContext: { runAsNonRoot: true, runAsUser: 26, fsGroup: 26, seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 60,
      containers: [{
        name: 'postgres', image: p.image, args: ['instance', '--kubernetes'],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'PGOP_CLUSTER', value: p.cluster },
        ],
        ports: [{ name: 'postgres', containerPort: 5432 }, { name: 'agent', containerPort: 8000 }],
        readinessProbe: { httpGet: { path: '/readyz', port: 8000 }, periodSeconds: 2, failureThreshold: 2 },
        livenessProbe: { httpGet: { path: '/healthz', port: 8000 }, periodSeconds: 10, failureThreshold: 6 },
        volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ['ALL'] } },
      }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: pvcName(p.instance) } }],
    },
  };
}
