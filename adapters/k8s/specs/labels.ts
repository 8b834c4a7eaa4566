// Labels every object pgop creates for a cluster carries; Services select instances by role.
export const LABEL = {
  cluster: 'postgres.keiailab.io/cluster',
  instance: 'postgres.keiailab.io/instance',
  role: 'postgres.keiailab.io/role',
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
} as const;

export const clusterLabels = (cluster: string): Record<string, string> => ({
  [LABEL.name]: 'postgres', [LABEL.managedBy]: 'pgop', [LABEL.partOf]: 'pgop', [LABEL.cluster]: cluster,
});

export interface Owner { apiVersion: string; kind: string; name: string; uid: string }

/** Owner references make Kubernetes garbage-collect what a cluster owns when it is deleted. */
export const ownedBy = (owner: Owner) => [{ ...owner, controller: true, blockOwnerDeletion: true }];
