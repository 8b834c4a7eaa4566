import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { Platform } from '../../adapters/local/control.js';
import { LocalSecrets } from '../../adapters/local/secrets.js';
import { SUPERUSER } from '../../adapters/instance/spec.js';

/** A libpq URI through the cluster's stable endpoint; passwords are URL-safe by construction. */
export function connectionUri(p: Platform, c: PostgresCluster, role: 'primary' | 'replica', user?: string): string {
  const ns = c.metadata.namespace ?? 'default';
  const endpoint = role === 'primary' ? c.status?.endpoints?.readWrite : c.status?.endpoints?.readOnly;
  if (!endpoint) throw new Error(`cluster ${c.metadata.name} has no endpoints yet (phase ${c.status?.phase ?? 'Pending'}); wait for it or run \`pgop local up --wait\``);
  const owner = c.spec.bootstrap?.initdb?.owner ?? 'app';
  const database = c.spec.bootstrap?.initdb?.database ?? 'app';
  const secrets = new LocalSecrets(p.state);
  const who = user ?? owner;
  let password: string;
  if (who === owner) password = secrets.read(ns, c.metadata.name, 'app');
  else if (who === SUPERUSER) password = secrets.read(ns, c.metadata.name, 'superuser');
  else throw new Error(`no credentials known for user "${who}"; use ${owner} (the owner) or ${SUPERUSER}`);
  const db = who === SUPERUSER ? 'postgres' : database;
  return `postgresql://${encodeURIComponent(who)}:${encodeURIComponent(password)}@${endpoint}/${encodeURIComponent(db)}?sslmode=disable`;
}
