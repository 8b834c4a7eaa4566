// A sharded cluster on real processes: 2 shards × 2 instances come up as their own HA groups owned by the sharded
// cluster, ShardRanges hold the even split, the operator runs a router configured from them, rows placed by that
// routing table sit on the shard PostgreSQL's own hash names, and a failover in one shard leaves the other serving.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import pg from 'pg';
import { LocalCluster, stateDir, sample } from '../helpers/cli.js';
import { query, eventually } from '../helpers/sql.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { ShardRange } from '../../crds/shardrange.js';
import { buildRoutingTable, shardForKeyspaceId } from '../../router/routing/routing-table.js';
import { keyspaceId } from '../../router/vindex/hash-vindex.js';
import { parseShardName } from '../../router/vindex/key-range.js';
import { isAlive, readPid } from '../../adapters/local/processes.js';

const state = stateDir('pgop-sharded-');
const parent = new LocalCluster(state, 'shop');
const shardA = new LocalCluster(state, 'shop-min-80');
const shardB = new LocalCluster(state, 'shop-80-max');
after(() => parent.down());

const shardUri = async (shard: string, user = 'postgres') => (await parent.ok(['local', 'connect', 'shop', '--shard', shard, '--user', user])).trim();
const ready = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).filter((i) => i.ready).length === 2;

interface RouterFile { listen: { port: number }; auth: { user: string; passwordFile: string }; sharding: { generation: number; shards: { name: string; port: number; tls: { caFile: string } }[]; tables: Record<string, { column: string; type: string }> } }
const routerDir = join(state, 'routers', 'default', 'shop');

test('a sharded cluster of 2 shards × 2 instances comes up; each shard is its own HA cluster owned by it', async () => {
  const up = await parent.ok(['local', 'up', '-f', sample('postgrescluster-sharded.yaml'), '--wait', '--timeout', '480'], 600_000);
  assert.match(up, /shop: shard -80\s+pgop local connect shop --shard -80/);
  const c = await parent.waitFor('2/2 shards', (x) => x.status?.phase === 'Ready' && x.status.shardsReady === '2/2', 60_000);
  assert.deepEqual(c.status?.shards?.map((s) => [s.name, s.cluster, s.phase]), [['-80', 'shop-min-80', 'Ready'], ['80-', 'shop-80-max', 'Ready']]);
  for (const shard of [shardA, shardB]) {
    const s = await shard.waitFor(`${shard.name} Ready with 2 instances`, ready, 60_000);
    assert.equal(s.spec.instances, 2, 'instances are per shard');
    assert.equal(s.spec.sharding, undefined, 'a shard is an ordinary cluster');
    assert.deepEqual(s.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['PostgresCluster', 'shop', c.metadata.uid]]);
    assert.equal(await shard.leaseHolder(), s.status?.currentPrimary, 'each shard holds its own primary lease');
  }
  const table = await parent.ok(['local', 'get', 'pgc']);
  assert.match(table, /^shop\s.*Ready.*2\/2\s*$/m, 'the SHARDS column');
  assert.match(await parent.ok(['local', 'get', 'pgc', 'shop-min-80']), /shop-min-80\s+2\s+2\s+Ready/);
  const refused = await parent.run(['local', 'connect', 'shop']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /is sharded: connect with --router, or to one shard with --shard \(-80, 80-\)/);
});

test('the ShardRange of the table group holds the even split, Ready, version 1', async () => {
  const list = JSON.parse(await parent.ok(['local', 'get', 'shardrange', '-o', 'json'])) as { items: ShardRange[] };
  assert.deepEqual(list.items.map((r) => r.metadata.name), ['shop-orders']);
  const r = list.items[0]!;
  assert.deepEqual(r.spec.ranges, [{ start: '', end: '80', shard: '-80' }, { start: '80', end: '', shard: '80-' }]);
  assert.deepEqual(r.spec.tables, ['orders', 'order_items']);
  assert.deepEqual([r.status?.phase, r.status?.version, r.status?.conditions?.find((x) => x.type === 'Ready')?.status], ['Ready', 1, 'True']);
  const table = await parent.ok(['local', 'get', 'shardrange']);
  assert.match(table, /^NAME\s+CLUSTER\s+TABLE GROUP\s+VINDEX\s+VERSION\s+AGE/);
  assert.match(table, /^shop-orders\s+shop\s+orders\s+hash\s+1\s/m);
});

test('the operator runs a router configured from the ShardRanges; connect --router names it', async () => {
  const file = await (async () => {
    for (let i = 0; i < 60; i++) {
      try { return JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as RouterFile; } catch { await new Promise((r) => setTimeout(r, 500)); }
    }
    throw new Error('no router config written');
  })();
  const [a, b] = await Promise.all([shardA.get(), shardB.get()]);
  assert.equal(file.sharding.generation, 1);
  assert.deepEqual(file.sharding.shards.map((s) => [s.name, s.port]), [
    ['-80', Number(a.status?.endpoints?.readWrite?.split(':')[1])], ['80-', Number(b.status?.endpoints?.readWrite?.split(':')[1])]]);
  assert.equal(file.sharding.shards[0]?.tls.caFile, shardA.caFile(), 'each shard is verified against its own CA');
  assert.deepEqual(file.sharding.tables, { orders: { column: 'customer_id', type: 'integer' }, order_items: { column: 'customer_id', type: 'integer' } });
  assert.ok(!JSON.stringify(file).includes(shardA.secret('superuser')), 'the auth password is in its own file, not in the config');
  assert.equal(file.auth.user, 'pgop_router', 'verifiers are looked up by the least-privilege role (ADR 0039)');
  assert.notEqual(readFileSync(file.auth.passwordFile, 'utf8').trim(), shardA.secret('superuser'));
  const pid = readPid(join(routerDir, 'router.pid'));
  assert.ok(isAlive(pid), 'the router process runs');
  const uri = (await parent.ok(['local', 'connect', 'shop', '--router'])).trim();
  assert.match(uri, new RegExp(`@127\\.0\\.0\\.1:${file.listen.port}/app\\?sslmode=verify-full`));
  await new Promise<void>((resolve, reject) => {
    const s = connect(file.listen.port, '127.0.0.1', () => { s.end(); resolve(); });
    s.on('error', reject);
  });
});

test('rows placed by the published routing table sit where each shard\'s own hashint8extended puts them', async () => {
  const file = JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as RouterFile;
  const routing = buildRoutingTable({ generation: file.sharding.generation, ranges: file.sharding.shards.map((s) => ({ shard: s.name, ...parseShardName(s.name) })) });
  const uris = new Map([['-80', await shardUri('-80')], ['80-', await shardUri('80-')]]);
  for (const u of uris.values()) await query(u, 'CREATE TABLE IF NOT EXISTS orders (customer_id bigint NOT NULL, note text)');
  const keys = [...Array.from({ length: 150 }, (_, i) => BigInt(i * 7919 - 300_000)), -1n, 0n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n];
  const placed = new Map<string, bigint[]>([['-80', []], ['80-', []]]);
  for (const k of keys) placed.get(shardForKeyspaceId(routing, keyspaceId('integer', k)))!.push(k);
  assert.ok(placed.get('-80')!.length > 20 && placed.get('80-')!.length > 20, 'both shards get rows');
  for (const [shard, ks] of placed) await query(uris.get(shard)!, 'INSERT INTO orders SELECT unnest($1::bigint[]), \'x\'', [ks.map(String)]);
  for (const [shard, uri] of uris) {
    const { start, end } = parseShardName(shard);
    const [row] = await query<{ total: string; outside: string }>(uri, `
      SELECT count(*) AS total,
             count(*) FILTER (WHERE NOT ((lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" >= $1 OR $1 = '')
                                   AND (lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" < $2 OR $2 = ''))) AS outside
      FROM orders`, [start, end]);
    assert.equal(Number(row?.total), placed.get(shard)!.length, `${shard} holds its rows`);
    assert.equal(Number(row?.outside), 0, `every row on ${shard} has a keyspace id in [${start}, ${end})`);
  }
});

test('a PostgresUser and a PostgresDatabase naming the sharded cluster are applied on every shard', async () => {
  const manifest = join(state, 'sharded-sql-objects.yaml');
  writeFileSync(manifest, [
    'apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresUser\nmetadata: { name: shop-reporting }\nspec: { cluster: { name: shop }, name: reporting, login: true, connectionLimit: 7 }',
    'apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresDatabase\nmetadata: { name: shop-reports }\nspec: { cluster: { name: shop }, name: reports, owner: reporting, schemas: [{ name: staging, owner: reporting }] }',
  ].join('\n---\n'));
  await parent.ok(['local', 'apply', '-f', manifest]);
  interface Obj { metadata: { generation?: number }; status?: { phase?: string; observedGeneration?: number; appliedOn?: string } }
  for (const [kind, name] of [['pguser', 'shop-reporting'], ['pgdb', 'shop-reports']] as const) {
    const o = await eventually(async () => JSON.parse(await parent.ok(['local', 'get', kind, name, '-o', 'json'])) as Obj,
      (x) => x.status?.phase === 'Applied' && x.status.observedGeneration === x.metadata.generation, 120_000);
    assert.match(o.status?.appliedOn ?? '', /shop-min-80\/shop-min-80-\d+,shop-80-max\/shop-80-max-\d+/, `${kind} names every shard's primary`);
  }
  for (const shard of ['-80', '80-']) {
    const uri = await shardUri(shard);
    const [role] = await query<{ rolconnlimit: number }>(uri, 'SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', ['reporting']);
    assert.equal(role?.rolconnlimit, 7, `role on ${shard}`);
    const [db] = await query<{ owner: string }>(uri, 'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', ['reports']);
    assert.equal(db?.owner, 'reporting', `database on ${shard}`);
  }
});

test('rows inserted through the router, by a PostgresUser of the sharded cluster over TLS, land on their shard', async () => {
  const manifest = join(state, 'sharded-writer.yaml');
  writeFileSync(manifest, [
    'apiVersion: v1\nkind: Secret\nmetadata: { name: writer-login }\ntype: kubernetes.io/basic-auth\nstringData: { username: writer, password: "wr1ter-Pa55word" }',
    'apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresUser\nmetadata: { name: shop-writer }\nspec: { cluster: { name: shop }, name: writer, login: true, passwordSecret: { name: writer-login } }',
  ].join('\n---\n'));
  await parent.ok(['local', 'apply', '-f', manifest]);
  await eventually(async () => JSON.parse(await parent.ok(['local', 'get', 'pguser', 'shop-writer', '-o', 'json'])) as { metadata: { generation?: number }; status?: { phase?: string; observedGeneration?: number } },
    (x) => x.status?.phase === 'Applied' && x.status.observedGeneration === x.metadata.generation, 120_000);
  const verifiers = new Set<string>();
  for (const shard of ['-80', '80-']) {
    const uri = await shardUri(shard);
    await query(uri, 'GRANT SELECT, INSERT ON orders TO writer');
    const [r] = await query<{ rolpassword: string }>(uri, 'SELECT rolpassword FROM pg_authid WHERE rolname = $1', ['writer']);
    verifiers.add(r?.rolpassword ?? '');
  }
  assert.equal(verifiers.size, 1, 'one SCRAM verifier (salt included) on every shard');
  assert.match([...verifiers][0]!, /^SCRAM-SHA-256\$4096:/);
  // The router's client URI (TLS verified against the first shard's CA), as the role the PostgresUser made.
  const url = new URL((await parent.ok(['local', 'connect', 'shop', '--router'])).trim());
  assert.equal(url.searchParams.get('sslmode'), 'verify-full');
  url.username = 'writer';
  url.password = 'wr1ter-Pa55word';
  url.pathname = '/postgres';
  const keys = Array.from({ length: 40 }, (_, i) => BigInt(i * 104_729 - 2_000_000));
  const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    for (const k of keys) await client.query('INSERT INTO orders (customer_id, note) VALUES ($1, \'via router\')', [k.toString()]);
  } finally { await client.end(); }
  let total = 0;
  for (const shard of ['-80', '80-']) {
    const { start, end } = parseShardName(shard);
    const [row] = await query<{ total: string; outside: string }>(await shardUri(shard), `
      SELECT count(*) AS total,
             count(*) FILTER (WHERE NOT ((lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" >= $1 OR $1 = '')
                                   AND (lpad(to_hex(hashint8extended(customer_id, 0)), 16, '0') COLLATE "C" < $2 OR $2 = ''))) AS outside
      FROM orders WHERE note = 'via router'`, [start, end]);
    assert.ok(Number(row?.total) > 0, `${shard} got rows through the router`);
    assert.equal(Number(row?.outside), 0, `every row the router put on ${shard} has a keyspace id in [${start}, ${end})`);
    total += Number(row?.total);
  }
  assert.equal(total, keys.length, 'every row landed exactly once');
});

test('a failover in shard -80 leaves shard 80- serving, and the sharded cluster Ready again after it', async () => {
  const [a, b] = await Promise.all([shardA.get(), shardB.get()]);
  const primaryA = a.status?.currentPrimary ?? '';
  const primaryB = b.status?.currentPrimary ?? '';
  const uriB = await shardUri('80-');
  await parent.ok(['local', 'kill', primaryA, '--namespace', 'default']);
  // While -80 is without a primary, 80- takes writes.
  await query(uriB, 'INSERT INTO orders VALUES (42, \'during failover\')');
  const promoted = await shardA.waitFor('a promoted replica in -80', (x) => (x.status?.failovers ?? []).some((f) => f.outcome === 'promoted'), 90_000);
  assert.notEqual(promoted.status?.currentPrimary, primaryA);
  const [after80] = await query<{ n: string }>(uriB, 'SELECT count(*) AS n FROM orders WHERE note = \'during failover\'');
  assert.equal(Number(after80?.n), 1);
  const bNow = await shardB.get();
  assert.equal(bNow.status?.currentPrimary, primaryB, 'shard 80- kept its primary');
  assert.deepEqual(bNow.status?.failovers ?? [], [], 'and saw no failover');
  const uriA = await shardUri('-80');
  await query(uriA, 'INSERT INTO orders VALUES (-5, \'after failover\')');
  await parent.waitFor('the sharded cluster Ready with 2/2 shards', (x) => x.status?.phase === 'Ready' && x.status.shardsReady === '2/2', 120_000);
});

test('a routing change (a table added to the group) bumps the ShardRange version and restarts the router on it', async () => {
  const before = JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as RouterFile;
  const pidBefore = readPid(join(routerDir, 'router.pid'));
  const manifest = join(state, 'sharded-more-tables.yaml');
  writeFileSync(manifest, readFileSync(sample('postgrescluster-sharded.yaml'), 'utf8').replace('tables: [orders, order_items]', 'tables: [orders, order_items, invoices]'));
  await parent.ok(['local', 'apply', '-f', manifest]);
  const r = await eventually(async () => JSON.parse(await parent.ok(['local', 'get', 'shardrange', 'shop-orders', '-o', 'json'])) as ShardRange,
    (x) => x.status?.version === 2, 60_000);
  assert.deepEqual(r.spec.tables, ['orders', 'order_items', 'invoices']);
  const after = await eventually(async () => JSON.parse(readFileSync(join(routerDir, 'router.json'), 'utf8')) as RouterFile, (f) => f.sharding.generation === 2, 30_000);
  assert.deepEqual(after.sharding.tables.invoices, { column: 'customer_id', type: 'integer' });
  assert.equal(after.listen.port, before.listen.port, 'the router keeps its port');
  const pidAfter = await eventually(async () => readPid(join(routerDir, 'router.pid')), (p) => p !== pidBefore && isAlive(p), 30_000);
  assert.ok(!isAlive(pidBefore), 'the old router stopped');
  assert.ok(isAlive(pidAfter));
  const [a] = await Promise.all([shardA.get()]);
  assert.equal(a.metadata.generation, 1, 'the shards themselves did not change');
});

test('deleting the sharded cluster deletes its shards, their instances, its ShardRanges and its router', async () => {
  const routerPid = readPid(join(routerDir, 'router.pid'));
  await parent.ok(['local', 'delete', 'pgc', 'shop', '--wait', '--timeout', '240'], 300_000);
  const left = JSON.parse(await parent.ok(['local', 'get', 'pgc', '-o', 'json'])) as { items: PostgresCluster[] };
  assert.deepEqual(left.items.map((c) => c.metadata.name), []);
  const ranges = JSON.parse(await parent.ok(['local', 'get', 'shardrange', '-o', 'json'])) as { items: ShardRange[] };
  assert.deepEqual(ranges.items, []);
  await eventually(async () => isAlive(routerPid), (alive) => !alive, 30_000);
});
