// What the local platform cannot do yet, refused at the door with the field and the fix (the Kubernetes CRD
// accepts these): bring-your-own certificates name Secrets, and the local store holds no Secrets yet.
import type { Resource } from '../../crds/definition.js';

export function localPlatformProblems(resource: Resource): string[] {
  if (resource.kind !== 'PostgresCluster') return [];
  const certs = (resource.spec as { certificates?: object } | undefined)?.certificates;
  return certs && Object.keys(certs).length
    ? ['spec.certificates: bring-your-own server certificates (Secrets) are supported on Kubernetes only; on the local platform remove spec.certificates and the operator issues them from a per-cluster CA']
    : [];
}
