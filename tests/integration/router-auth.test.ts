// The router's logins on a sharded cluster on real processes (ADR 0039): the operator-run `pgop router` looks up
// verifiers as the least-privilege role pgop_router (not a superuser), backends run as the client's own role on
// every shard, a role made by plain SQL logs in, superusers do not, and a rotated PostgresUser password works through
// the same router process at once while the old one is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import { isAlive, readPid } from '../../adapters/local/processes.js';
import { buildRoutingTable, shardForKeyspaceId } from '../../router/routing/routing-table.js';
import { keyspaceId } from '../../router/vindex/hash-vindex.js';
import { parseShardName } from '../../router/vindex/key-range.js';

const state = stateDir('pgop-router-auth-');
const parent = new LocalCluster(state, 'shop');
const shardA = new LocalCluster(state, 'shop-min-80');
after(() => parent.down());

interface RouterFile { listen: { port: number }; auth: { user: string; passwordFile: string; database: string }; sharding: { generation: number; shards: { name: string }[] } }
const routerDir = join(state, 'routers', 'default', 'shop');
const routerFile = () => JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as RouterFile;
const routerPid = () => readPid(join(routerDir, 'router.pid'));
/** A shard's primary as the superuser, database postgres (where the router's clients below work too). */
const shardUris = new Map<string, string>();
const shardUri = async (shard: string) => {
  // A shard's single instance keeps its port: asked once per shard (each CLI call costs seconds on a loaded machine).
  if (!shardUris.has(shard)) shardUris.set(shard, (await parent.ok(['local', 'connect', 'shop', '--shard', shard, '--user', 'postgres'])).trim());
  return shardUris.get(shard)!;
};

/** The router's client URI (TLS verified against the first shard's CA) for another role, database postgres. */
let routerBase: string | undefined;
async function routerUri(user: string, password: string): Promise<string> {
  // Asked once: the router keeps its port across restarts (and this test asserts it is not restarted).
  routerBase ??= (await parent.ok(['local', 'connect', 'shop', '--router'])).trim();
  const url = new URL(routerBase);
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.pathname = '/postgres';
  return url.toString();
}

async function login(user: string, password: string): Promise<'ok' | string> {
  try { await query(await routerUri(user, password), 'SELECT 1'); return 'ok'; } catch (e) { return (e as { code?: string }).code ?? (e as Error).message; }
}

/** A key on each shard, by the router's own published routing table. */
function keysPerShard(): Map<string, bigint> {
  const f = routerFile();
  const routing = buildRoutingTable({ generation: f.sharding.generation, ranges: f.sharding.shards.map((s) => ({ shard: s.name, ...parseShardName(s.name) })) });
  const out = new Map<string, bigint>();
  for (let k = 1n; out.size < 2; k++) { const s = shardForKeyspaceId(routing, keyspaceId('integer', k)); if (!out.has(s)) out.set(s, k); }
  return out;
}

test('the operator runs the sharded cluster\'s router with the least-privilege lookup role, not a superuser', async () => {
  const manifest = join(state, 'shop.yaml');
  // One instance per shard is enough here: this is about logins, not HA.
  writeFileSync(manifest, readFileSync(sample('postgrescluster-sharded.yaml'), 'utf8').replace('instances: 2', 'instances: 1'));
  await parent.ok(['local', 'up', '-f', manifest, '--wait', '--timeout', '420'], 480_000);
  await parent.waitFor('2/2 shards', (x) => x.status?.phase === 'Ready' && x.status.shardsReady === '2/2', 120_000);
  const file = await eventually(async () => { try { return routerFile(); } catch { return null; } }, (f) => f !== null, 60_000);
  assert.equal(file!.auth.user, 'pgop_router');
  const lookupPassword = readFileSync(file!.auth.passwordFile, 'utf8').trim();
  assert.notEqual(lookupPassword, shardA.secret('superuser'), 'not the superuser\'s password');
  assert.ok(isAlive(routerPid()), 'the router process runs');
  const [role] = await query<{ rolsuper: boolean; rolcreaterole: boolean; rolbypassrls: boolean; rolreplication: boolean; authid: boolean }>(await shardUri('-80'),
    `SELECT rolsuper, rolcreaterole, rolbypassrls, rolreplication, has_table_privilege(rolname, 'pg_catalog.pg_authid', 'SELECT') AS authid
       FROM pg_roles WHERE rolname = 'pgop_router'`);
  assert.deepEqual(role, { rolsuper: false, rolcreaterole: false, rolbypassrls: false, rolreplication: false, authid: false }, 'the lookup role has no privilege beyond LOGIN');
  // Its own password logs in to the shard, and it still cannot read pg_authid itself: only through the function.
  const direct = new URL(await shardUri('-80'));
  direct.username = 'pgop_router';
  direct.password = encodeURIComponent(lookupPassword);
  await assert.rejects(query(direct.toString(), 'SELECT rolpassword FROM pg_authid'), (e: pg.DatabaseError) => e.code === '42501');
  const [own] = await query<{ n: string }>(direct.toString(), "SELECT count(*) AS n FROM pgop_router.lookup('postgres')");
  assert.equal(own?.n, '0', 'the function hands out no superuser verifier');
});

test('a role created by plain SQL (no PostgresUser) logs in through the router; its sessions on every shard run as itself, not superuser', async () => {
  let verifier = '';
  for (const shard of ['-80', '80-']) {
    const uri = await shardUri(shard);
    // One verifier on every shard, as the router's role fan-out and the PostgresUser controller keep it.
    if (shard === '-80') {
      await query(uri, "CREATE ROLE analyst LOGIN PASSWORD 'an4lyst-Pa55'");
      verifier = (await query<{ rolpassword: string }>(uri, "SELECT rolpassword FROM pg_authid WHERE rolname = 'analyst'"))[0]!.rolpassword;
    } else await query(uri, `CREATE ROLE analyst LOGIN PASSWORD ${pg.escapeLiteral(verifier)}`);
    await query(uri, 'CREATE TABLE IF NOT EXISTS orders (customer_id bigint NOT NULL, note text)');
    await query(uri, 'GRANT SELECT, INSERT ON orders TO analyst');
  }
  const uri = await routerUri('analyst', 'an4lyst-Pa55');
  const [me] = await query<{ u: string; rolsuper: boolean }>(uri, 'SELECT current_user AS u, rolsuper FROM pg_roles WHERE rolname = current_user');
  assert.deepEqual(me, { u: 'analyst', rolsuper: false });
  // A keyed insert lands on each shard; the row records who the shard's session ran as.
  for (const [, key] of keysPerShard()) {
    await query(uri, 'INSERT INTO orders (customer_id, note) VALUES ($1, (SELECT current_user || \':\' || rolsuper FROM pg_roles WHERE rolname = current_user))', [key.toString()]);
  }
  for (const shard of ['-80', '80-']) {
    const rows = await query<{ note: string }>(await shardUri(shard), 'SELECT note FROM orders');
    assert.deepEqual(rows.map((r) => r.note), ['analyst:false'], `the router's session on ${shard} ran as analyst, not a superuser`);
  }
  assert.equal(await login('analyst', 'wrong'), '28P01');
});

test('superusers and the operator\'s own roles cannot log in through the router', async () => {
  assert.equal(await login('postgres', shardA.secret('superuser')), '28P01');
  assert.equal(await login('pgop_router', readFileSync(routerFile().auth.passwordFile, 'utf8').trim()), '28P01');
});

test('a rotated PostgresUser password works through the same router process at once; the old one is refused', async () => {
  const secret = (password: string) => `apiVersion: v1\nkind: Secret\nmetadata: { name: clerk-login }\ntype: kubernetes.io/basic-auth\nstringData: { username: clerk, password: "${password}" }`;
  const manifest = join(state, 'clerk.yaml');
  writeFileSync(manifest, [secret('first-Pa55word'),
    'apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresUser\nmetadata: { name: shop-clerk }\nspec: { cluster: { name: shop }, name: clerk, login: true, passwordSecret: { name: clerk-login } }'].join('\n---\n'));
  await parent.ok(['local', 'apply', '-f', manifest]);
  interface UserObj { metadata: { generation?: number }; status?: { phase?: string; observedGeneration?: number; passwordSecretVersion?: string } }
  const getUser = async () => JSON.parse(await parent.ok(['local', 'get', 'pguser', 'shop-clerk', '-o', 'json'])) as UserObj;
  const first = await eventually(getUser, (x) => x.status?.phase === 'Applied' && x.status.observedGeneration === x.metadata.generation, 120_000);
  const pid = routerPid();
  assert.equal(await login('clerk', 'first-Pa55word'), 'ok');
  writeFileSync(manifest, secret('second-Pa55word'));
  await parent.ok(['local', 'apply', '-f', manifest]);
  await eventually(getUser, (x) => x.status?.phase === 'Applied' && !!x.status.passwordSecretVersion && x.status.passwordSecretVersion !== first.status?.passwordSecretVersion, 120_000);
  assert.equal(await eventually(() => login('clerk', 'second-Pa55word'), (r) => r === 'ok', 30_000), 'ok', 'the new password logs in');
  assert.equal(await login('clerk', 'first-Pa55word'), '28P01', 'the old password is refused');
  assert.equal(routerPid(), pid, 'the same router process: no restart');
  assert.ok(isAlive(pid));
});
