import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { Platform } from '../../adapters/local/control.js';
import { LocalSecrets } from '../../adapters/local/secrets.js';
import { SUPERUSER } from '../../adapters/instance/spec.js';
import { localTlsFiles } from '../../adapters/certs/local-certificates.js';
import type { Pooler } from '../../crds/pooler.js';
import { shardsOf } from '../../crds/sharding.js';

/** A libpq URI through the cluster's stable endpoint (or one of its Poolers); passwords are URL-safe by construction. */
export function connectionUri(p: Platform, c: PostgresCluster, role: 'primary' | 'replica', user?: string, through?: Pooler): string {
  const ns = c.metadata.namespace ?? 'default';
  if (through && (user === SUPERUSER)) throw new Error(`the superuser cannot log in through a Pooler (its auth lookup serves ordinary roles only); connect without --pooler`);
  if (through && through.spec.cluster.name !== c.metadata.name) throw new Error(`pooler "${through.metadata.name}" fronts cluster "${through.spec.cluster.name}", not "${c.metadata.name}"`);
  if (through && !through.status?.endpoint) throw new Error(`pooler "${through.metadata.name}" has no endpoint yet (phase ${through.status?.phase ?? 'Pending'}${through.status?.message ? `: ${through.status.message}` : ''})`);
  const endpoint = through ? through.status?.endpoint : role === 'primary' ? c.status?.endpoints?.readWrite : c.status?.endpoints?.readOnly;
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
  // TLS only, verified against the cluster CA: the endpoint's 127.0.0.1 is in the server certificate.
  const ca = localTlsFiles(p.state, ns, c.metadata.name).caFile;
  return `postgresql://${encodeURIComponent(who)}:${encodeURIComponent(password)}@${endpoint}/${encodeURIComponent(db)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
}

/**
 * A cluster's router: a sharded cluster's checks logins against the first shard's roles and serves its certificate;
 * an unsharded cluster's (spec.router.enabled) its own.
 */
export function routerUri(p: Platform, c: PostgresCluster, port: number | undefined, user?: string): string {
  const ns = c.metadata.namespace ?? 'default';
  const sharding = c.spec.sharding;
  if (!sharding && !c.spec.router?.enabled) throw new Error(`cluster ${c.metadata.name} has no router: set spec.router.enabled: true (or connect to the cluster directly)`);
  if (!port) throw new Error(sharding ? `the router of ${c.metadata.name} is not configured yet (its ShardRanges must be Ready: \`pgop local get shardrange\`)` : `the router of ${c.metadata.name} is not started yet (it starts once the cluster has its endpoints)`);
  const first = sharding ? shardsOf(c.metadata.name, sharding)[0]!.cluster : c.metadata.name;
  const owner = c.spec.bootstrap?.initdb?.owner ?? 'app';
  const database = c.spec.bootstrap?.initdb?.database ?? 'app';
  const who = user ?? owner;
  const secrets = new LocalSecrets(p.state);
  let password: string;
  if (who === owner) password = secrets.read(ns, first, 'app');
  else if (who === SUPERUSER) throw new Error(`superusers cannot log in through the router (ADR 0039); connect to ${sharding ? 'a shard with --shard' : 'the cluster without --router'}`);
  else throw new Error(`no credentials known for user "${who}"; use ${owner} (the owner)`);
  const ca = localTlsFiles(p.state, ns, first).caFile;
  return `postgresql://${encodeURIComponent(who)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(who === SUPERUSER ? 'postgres' : database)}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
}

/** An unsharded cluster's read-only router (spec.router.readOnly, ADR 0043): same credentials and CA as its router. */
export function readOnlyRouterUri(p: Platform, c: PostgresCluster, port: number | undefined, user?: string): string {
  if (c.spec.sharding) throw new Error(`cluster ${c.metadata.name} is sharded: its router routes reads and writes; --read-only is for an unsharded cluster's read-only router`);
  if (!c.spec.router?.enabled || !c.spec.router.readOnly) throw new Error(`cluster ${c.metadata.name} has no read-only router: set spec.router.enabled: true and spec.router.readOnly: true (or connect to the -ro endpoint with --role replica)`);
  if (!port) throw new Error(`the read-only router of ${c.metadata.name} is not started yet (it starts once the cluster has its endpoints)`);
  return routerUri(p, c, port, user);
}

/** The PostgresCluster holding one shard of a sharded cluster, by its key-range name ("-80"). */
export function shardClusterOf(c: PostgresCluster, shard: string): string {
  const sharding = c.spec.sharding;
  if (!sharding) throw new Error(`cluster ${c.metadata.name} is not sharded; --shard needs a sharded cluster`);
  const all = shardsOf(c.metadata.name, sharding);
  const found = all.find((s) => s.shard === shard);
  if (!found) throw new Error(`cluster ${c.metadata.name} has no shard "${shard}"; its shards are ${all.map((s) => s.shard).join(', ')}`);
  return found.cluster;
}
