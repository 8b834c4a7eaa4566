// The Pod and PVC of one instance. Pods are managed directly (no StatefulSet) so updates can be primary-aware,
// and the PVC outlives the Pod: a recreated Pod finds its data.
import { LABEL, clusterLabels, ownedBy, type Owner } from './labels.js';
import { AGENT_PORT, AGENT_TOKEN_ENV, AGENT_TOKEN_KEY, DATA_MOUNT, IMAGE_ANNOTATION, IMAGE_ENV, POSTGRES_PORT, RUN_MOUNT, agentTokenSecretName, instanceServiceAccount, pgBinDirFor } from './names.js';
import { distinctVolumes, type RepositoryMount } from './repository-mounts.js';
import { PGBACKREST_TLS_PORT } from '../../backup/pgbackrest-config.js';

/** The image's postgres user (Dockerfile: uid/gid 26). */
export const POSTGRES_UID = 26;

/** The restricted Pod Security Standard, and a read-only root: nothing in the image changes at run time. */
export const restrictedContainer = () => ({
  runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false,
  capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
});

/** Writable scratch besides the data volume and the run dir: temp files, and Debian's default socket/lock dir. */
const SCRATCH = [{ volume: 'tmp', mountPath: '/tmp' }, { volume: 'run-postgresql', mountPath: '/run/postgresql' }];

export interface InstancePlacement {
  cluster: string;
  namespace: string;
  instance: string;
  serial: number;
  bootstrap: 'initdb' | 'clone';
  image: string;
  storageSize: string;
  storageClass?: string;
  postgresVersion?: number;
  owner: Owner;
  /** posix repositories on PersistentVolumeClaims (repository-mounts.ts), mounted at their paths. */
  repositories?: RepositoryMount[];
}

const placementAnnotations = (p: InstancePlacement) => ({ 'postgres.keiailab.io/serial': String(p.serial), 'postgres.keiailab.io/bootstrap': p.bootstrap, [IMAGE_ANNOTATION]: p.image });

type PodVolume = { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object };

export const pvcName = (instance: string) => `${instance}-data`;

export function instancePvc(p: InstancePlacement) {
  return {
    apiVersion: 'v1', kind: 'PersistentVolumeClaim',
    // The PVC is the record of an instance: a lost Pod is recreated from it, with the same placement.
    metadata: { name: pvcName(p.instance), namespace: p.namespace, labels: { ...clusterLabels(p.cluster), [LABEL.instance]: p.instance }, annotations: placementAnnotations(p) },
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
      annotations: placementAnnotations(p),
      ownerReferences: ownedBy(p.owner),
    },
    spec: {
      serviceAccountName: instanceServiceAccount(p.cluster),
      securityContext: { runAsNonRoot: true, runAsUser: POSTGRES_UID, runAsGroup: POSTGRES_UID, fsGroup: POSTGRES_UID, seccompProfile: { type: 'RuntimeDefault' } },
      terminationGracePeriodSeconds: 60,
      containers: [{
        name: 'postgres', image: p.image, args: ['instance', '--kubernetes'],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'PGOP_CLUSTER', value: p.cluster },
          // The same string as `image` above: what the agent reports as the image its postmaster runs.
          { name: IMAGE_ENV, value: p.image },
          // A reference, not the value: the token never appears in the Pod spec (the agent drops it from its env).
          { name: AGENT_TOKEN_ENV, valueFrom: { secretKeyRef: { name: agentTokenSecretName(p.cluster), key: AGENT_TOKEN_KEY } } },
          { name: 'PGOP_DATA_ROOT', value: DATA_MOUNT },
          { name: 'PGOP_RUN_DIR', value: RUN_MOUNT },
          ...(p.postgresVersion ? [{ name: 'PGOP_PG_BIN_DIR', value: pgBinDirFor(p.postgresVersion) }] : []),
          // Where each repository volume is mounted as the agent sees it: the path itself in a real Pod.
          ...(p.repositories ?? []).map((r) => ({ name: r.env, value: r.path })),
        ],
        // pgbackrest: the agent's `pgbackrest server` (TLS, cluster certificates), for standby backups (ADR 0035).
        ports: [{ name: 'postgres', containerPort: POSTGRES_PORT }, { name: 'agent', containerPort: AGENT_PORT }, { name: 'pgbackrest', containerPort: PGBACKREST_TLS_PORT }],
        readinessProbe: { httpGet: { path: '/readyz', port: AGENT_PORT }, periodSeconds: 2, failureThreshold: 2 },
        livenessProbe: { httpGet: { path: '/healthz', port: AGENT_PORT }, periodSeconds: 10, failureThreshold: 6 },
        volumeMounts: [
          { name: 'data', mountPath: DATA_MOUNT }, { name: 'run', mountPath: RUN_MOUNT },
          ...SCRATCH.map((d) => ({ name: d.volume, mountPath: d.mountPath })),
          ...distinctVolumes(p.repositories ?? []).map((r) => ({ name: r.volume, mountPath: r.path })),
        ],
        securityContext: restrictedContainer(),
      }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: pvcName(p.instance) } } as PodVolume,
        { name: 'run', emptyDir: {} },
        ...SCRATCH.map((d) => ({ name: d.volume, emptyDir: {} })),
        ...distinctVolumes(p.repositories ?? []).map((r): PodVolume => ({ name: r.volume, persistentVolumeClaim: { claimName: r.claim } })),
      ],
    },
  };
}
