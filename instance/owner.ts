// The application owner the agent creates on a fresh primary. Admission refuses reserved names; the agent checks
// again because it is the one issuing CREATE ROLE (a spec file from an older operator, a hand edit): `postgres`
// here would hand the app secret's password to the superuser, `streaming_replica` to the replication role.
import { reservedRoleProblem } from '../crds/reserved-roles.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';

export function bootstrapOwner(spec: Pick<InstanceSpec, 'bootstrap'>): { owner: string; database: string } | null {
  if (spec.bootstrap.mode !== 'initdb') return null;
  const { owner, database } = spec.bootstrap.initdb;
  const problem = reservedRoleProblem(owner);
  if (problem) throw new Error(`refusing to create the owner: bootstrap.initdb.owner ${problem}`);
  return { owner, database };
}
