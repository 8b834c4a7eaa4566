// One admission door for `pgop local apply`: pgop's own kinds through the CRD schemas, core v1 Secrets through
// the Secret rules (crds/secret.ts). Kept apart from manifests.ts so both grow independently.
import type { Resource } from '../../crds/definition.js';
import { admit } from '../../crds/admission.js';
import { admitSecret, isSecretManifest, type SecretObject } from '../../crds/secret.js';

export function admitManifest(raw: unknown, old?: Resource): Resource {
  if (isSecretManifest(raw)) return admitSecret(raw, old as unknown as SecretObject | undefined) as unknown as Resource;
  return admit(raw, old);
}
