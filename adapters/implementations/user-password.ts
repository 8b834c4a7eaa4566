// Where a role's password comes from: nowhere (disablePassword), the user's basic-auth Secret, or a generated
// Secret `<cluster>-user-<resource>` the operator creates and rotates. Returns the value to the effect only.
import { randomBytes } from 'node:crypto';
import type { PostgresUserSpec } from '../../crds/postgresuser.js';
import { BASIC_AUTH } from '../../crds/secret.js';
import type { PasswordState, ResourceRef } from '../../machines/user/user.types.js';
import { rotationDue } from '../../machines/user/user.logic.js';
import { PermanentError } from '../platform.js';
import { GENERATED_FOR_LABEL, ROTATED_AT_ANNOTATION, type SecretStore } from '../secrets/secret-store.js';

export const generatedSecretName = (cluster: string, resource: string) => `${cluster}-user-${resource}`;

export interface ResolvedPassword { state: PasswordState; value: string | null }

export async function resolvePassword(
  secrets: SecretStore, resource: ResourceRef, spec: PostgresUserSpec, now: Date,
  generate: () => string = () => randomBytes(24).toString('base64url'),
): Promise<ResolvedPassword> {
  if (spec.disablePassword || spec.ensure === 'absent') return { state: { source: 'none', secretName: null, secretVersion: null, rotatedAt: null }, value: null };
  if (spec.passwordSecret) {
    const name = spec.passwordSecret.name;
    const s = await secrets.read(resource.namespace, name);
    // Not permanent: the Secret may simply not be created yet; its creation wakes the machine.
    if (!s) throw new Error(`passwordSecret ${name} not found in namespace ${resource.namespace}; create a ${BASIC_AUTH} Secret with a "password" key`);
    if (s.type !== BASIC_AUTH) throw new PermanentError(`passwordSecret ${name} has type ${s.type}; it must be ${BASIC_AUTH}`);
    const password = s.values.password;
    if (!password) throw new PermanentError(`passwordSecret ${name} has no "password" key`);
    if (s.values.username !== undefined && s.values.username !== spec.name) throw new PermanentError(`passwordSecret ${name} is for username ${JSON.stringify(s.values.username)}, not this role; fix the Secret's username or drop it`);
    return { state: { source: 'secret', secretName: name, secretVersion: s.resourceVersion, rotatedAt: null }, value: password };
  }
  const name = generatedSecretName(spec.cluster.name, resource.name);
  let s = await secrets.read(resource.namespace, name);
  const rotatedAt = s?.annotations[ROTATED_AT_ANNOTATION] ?? null;
  if (!s || !s.values.password || rotationDue(spec, rotatedAt, now.toISOString())) {
    // The rotation time lives on the Secret: a re-run of this effect after a restore finds it fresh and keeps it.
    s = await secrets.write(resource.namespace, name, {
      type: BASIC_AUTH, values: { username: spec.name, password: generate() },
      annotations: { [ROTATED_AT_ANNOTATION]: now.toISOString() }, labels: { [GENERATED_FOR_LABEL]: resource.name },
    }, s?.resourceVersion);
  }
  const password = s.values.password ?? null;
  return { state: { source: 'generated', secretName: name, secretVersion: s.resourceVersion, rotatedAt: s.annotations[ROTATED_AT_ANNOTATION] ?? null }, value: password };
}
