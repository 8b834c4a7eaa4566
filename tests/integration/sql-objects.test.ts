// PostgresUser and PostgresDatabase end to end on real PostgreSQL through the local platform: roles equal their
// spec in pg_roles / pg_auth_members after every change, a rotated Secret's password logs in and the old one is
// refused, hostile names are created exactly and nothing else changes, extensions and schemas appear and come
// back after a hand-made drop, reclaim delete drops the database, an operator SIGKILLed mid-apply resumes, and a
// failover in the middle of applying a user finishes the work on the new primary, and a switchover has applied
// objects checked on the new primary at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import pg from 'pg';
import { LocalCluster, stateDir, sample, pgop } from '../helpers/cli.js';
import { query, eventually, uriFor } from '../helpers/sql.js';
import { isAlive } from '../../adapters/local/processes.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { Resource } from '../../crds/definition.js';

const state = stateDir('pgop-sqlobj-');
const cluster = new LocalCluster(state);
after(() => cluster.down());

// Drift checks every 3 s here (120 s by default), so a hand-made drop is corrected within the test.
const ENV = { PGOP_SQL_RESYNC_SECONDS: '3' };
const API = 'postgres.keiailab.io/v1alpha1';
let seq = 0;

async function apply(...objects: object[]): Promise<void> {
  const file = join(state, `m-${++seq}.yaml`);
  writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
  await cluster.ok(['local', 'apply', '-f', file]);
}

const user = (name: string, spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'PostgresUser', metadata: { name }, spec: { cluster: { name: 'demo' }, ...spec } });
const database = (name: string, spec: Record<string, unknown>) => ({ apiVersion: API, kind: 'PostgresDatabase', metadata: { name }, spec: { cluster: { name: 'demo' }, ...spec } });
const basicAuth = (name: string, username: string, password: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'kubernetes.io/basic-auth', stringData: { username, password } });

async function get(kind: string, name: string): Promise<Resource<Record<string, unknown>, Record<string, unknown>>> {
  return JSON.parse(await cluster.ok(['local', 'get', kind, name, '-o', 'json'])) as Resource<Record<string, unknown>, Record<string, unknown>>;
}

/** Until the object's current generation is applied. */
async function applied(kind: string, name: string, timeoutMs = 90_000) {
  return eventually(() => get(kind, name), (r) => r.status?.applied === true && r.status.observedGeneration === r.metadata.generation && r.status.phase === 'Applied', timeoutMs);
}

const primary = async () => (await cluster.get()).status?.currentPrimary ?? '';
const superUri = async (db = 'postgres') => uriFor('postgres', cluster.secret('superuser'), cluster.instanceSpec(await primary()).port, db, cluster.caFile());
/** As the superuser on the primary, in any database (a config object: URIs do not carry every database name). */
async function superQuery<T extends pg.QueryResultRow>(db: string, text: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port: cluster.instanceSpec(await primary()).port, user: 'postgres', password: cluster.secret('superuser'), database: db,
    ssl: { ca: readFileSync(cluster.caFile(), 'utf8'), rejectUnauthorized: true } });
  c.on('error', () => undefined);
  await c.connect();
  try { return (await c.query<T>(text)).rows; } finally { await c.end(); }
}

interface RoleRow { rolsuper: boolean; rolinherit: boolean; rolcreaterole: boolean; rolcreatedb: boolean; rolcanlogin: boolean; rolreplication: boolean; rolbypassrls: boolean; rolconnlimit: number; until: string | null; member_of: string[] }
async function role(name: string): Promise<RoleRow | undefined> {
  const [r] = await query<RoleRow>(await superUri(), `SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit,
    to_char(rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS until,
    ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of
    FROM pg_roles r WHERE rolname = $1`, [name]);
  return r;
}

function expected(spec: Record<string, unknown>): RoleRow {
  const b = (k: string, d: boolean) => (typeof spec[k] === 'boolean' ? spec[k] as boolean : d);
  const until = typeof spec.validUntil === 'string' ? spec.validUntil : null;
  return {
    rolsuper: b('superuser', false), rolinherit: b('inherit', true), rolcreaterole: b('createrole', false), rolcreatedb: b('createdb', false),
    rolcanlogin: b('login', true), rolreplication: b('replication', false), rolbypassrls: b('bypassrls', false),
    rolconnlimit: typeof spec.connectionLimit === 'number' ? spec.connectionLimit : -1,
    until: until === null || until.startsWith('infinity') ? null : until, member_of: [...((spec.inRoles as string[] | undefined) ?? [])].sort(),
  };
}

async function canLogin(user: string, password: string, db = 'postgres'): Promise<boolean> {
  const c = new pg.Client({ connectionString: uriFor(user, password, cluster.instanceSpec(await primary()).port, db, cluster.caFile()), connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try { await c.connect(); await c.query('SELECT 1'); return true; } catch { return false; } finally { await c.end().catch(() => undefined); }
}

const allReady = (c: PostgresCluster) => c.status?.phase === 'Ready' && (c.status.instances ?? []).length === 2 && (c.status.instances ?? []).every((i) => i.ready);

test('a 2-instance cluster comes up', async () => {
  const file = join(state, 'demo.yaml');
  writeFileSync(file, readFileSync(sample('postgrescluster-ha.yaml'), 'utf8').replace('instances: 3', 'instances: 2'));
  const r = await pgop(['local', 'up', '-f', file, '--wait', '--timeout', '240', '--state-dir', state], ENV);
  assert.equal(r.code, 0, r.stderr);
  await cluster.waitFor('Ready', allReady);
});

test('role attributes and memberships equal pg_roles / pg_auth_members after every change', async () => {
  await apply(user('group-a', { name: 'group_a', login: false }), user('group-b', { name: 'group_b', login: false }));
  const steps: Record<string, unknown>[] = [
    { name: 'flags', createdb: true, connectionLimit: 5, inRoles: ['group_a'] },
    { name: 'flags', createdb: false, createrole: true, replication: true, bypassrls: true, inherit: false, login: false, connectionLimit: 7, validUntil: '2031-01-02T03:04:05Z', inRoles: ['group_a', 'group_b', 'pg_read_all_data'] },
    { name: 'flags', superuser: true, inRoles: ['group_b'] },
    { name: 'flags', inRoles: [] },
  ];
  for (const spec of steps) {
    await apply(user('flags', spec));
    await applied('pguser', 'flags');
    assert.deepEqual(await role('flags'), expected(spec), JSON.stringify(spec));
  }
  const table = await cluster.ok(['local', 'get', 'pguser']);
  assert.match(table, /^NAME\s+CLUSTER\s+ROLE\s+LOGIN\s+PHASE\s+APPLIED\s+AGE/);
  assert.match(table, /flags\s+demo\s+flags\s+true\s+Applied\s+true/);
});

test('drift checks of an applied role keep it Applied and Ready: every status written across two checks says so', async () => {
  const platform = JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { redisUrl: string };
  const { RedisResourceStore } = await import('../../adapters/local/redis-store.js');
  const store = RedisResourceStore.connect(platform.redisUrl);
  const key = { kind: 'PostgresUser', namespace: 'default', name: 'flags' };
  const seen: string[] = [];
  const reads: Promise<void>[] = [];
  const stop = await store.watch((e) => {
    if (e.key.kind !== key.kind || e.key.name !== key.name) return;
    reads.push(store.get(key).then((r) => {
      const status = r?.status as { phase?: string; phaseReason?: string; conditions?: { type: string; status: string }[] } | undefined;
      seen.push(`${String(status?.phase)} ready=${String(status?.conditions?.find((c) => c.type === 'Ready')?.status)} ${String(status?.phaseReason)}`);
    }));
  });
  await new Promise((r) => setTimeout(r, 8_000)); // PGOP_SQL_RESYNC_SECONDS=3: at least two drift checks
  await stop();
  await Promise.all(reads);
  await store.close();
  assert.ok(seen.some((s) => s.includes('re-checking')), `a drift check ran and was written: ${seen.join(' | ')}`);
  for (const s of seen) assert.match(s, /^Applied ready=True /, seen.join(' | '));
});

test('a rotated Secret\'s password logs in and the old one is refused; no password reaches status or logs', async () => {
  await apply(basicAuth('reporting-login', 'reporting', 'first-Pa55word'), user('reporting', { name: 'reporting', passwordSecret: { name: 'reporting-login' } }));
  const first = await applied('pguser', 'reporting');
  assert.equal(await canLogin('reporting', 'first-Pa55word'), true);
  await apply(basicAuth('reporting-login', 'reporting', 'second-Pa55word'));
  await eventually(() => get('pguser', 'reporting'), (r) => r.status?.applied === true && r.status.passwordSecretVersion !== first.status?.passwordSecretVersion, 60_000);
  assert.equal(await canLogin('reporting', 'second-Pa55word'), true);
  assert.equal(await canLogin('reporting', 'first-Pa55word'), false, 'the old password is refused');
  const [stored] = await query<{ rolpassword: string }>(await superUri(), "SELECT rolpassword FROM pg_authid WHERE rolname = 'reporting'");
  assert.match(stored?.rolpassword ?? '', /^SCRAM-SHA-256\$/);
  // A generated password lands in <cluster>-user-<resource>, as a basic-auth Secret, and logs in.
  await apply(user('generated', { name: 'generated' }));
  const gen = await applied('pguser', 'generated');
  assert.equal(gen.status?.passwordSecret, 'demo-user-generated');
  const platform = JSON.parse(readFileSync(join(state, 'platform.json'), 'utf8')) as { redisUrl: string };
  const { connectRedis } = await import('../../adapters/redis/connection.js');
  const redis = connectRedis(platform.redisUrl);
  const secret = JSON.parse((await redis.get('pgop:obj:Secret:default:demo-user-generated')) ?? '{}') as { type: string; data: Record<string, string> };
  redis.disconnect();
  assert.equal(secret.type, 'kubernetes.io/basic-auth');
  const generated = Buffer.from(secret.data.password ?? '', 'base64').toString('utf8');
  assert.equal(await canLogin('generated', generated), true);
  const everything = JSON.stringify([await get('pguser', 'reporting'), await get('pguser', 'generated')]) + readFileSync(join(state, 'daemon.log'), 'utf8');
  for (const pw of ['first-Pa55word', 'second-Pa55word', generated]) assert.ok(!everything.includes(pw), 'a password leaked into status, snapshot or the operator log');
});

test('hostile names are created exactly and nothing else changes', async () => {
  const roleName = 'o\'; DROP ROLE x; --"ü';
  const dbName = 'weird "db"; --';
  const rolesBefore = (await query<{ rolname: string }>(await superUri(), 'SELECT rolname FROM pg_roles ORDER BY 1')).map((r) => r.rolname);
  const dbsBefore = (await query<{ datname: string }>(await superUri(), 'SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);
  await apply(user('hostile', { name: roleName, login: true }), database('hostile', { name: dbName, owner: roleName, schemas: [{ name: 'x"; DROP SCHEMA public; --' }] }));
  await applied('pguser', 'hostile');
  await applied('pgdb', 'hostile');
  const rolesAfter = (await query<{ rolname: string }>(await superUri(), 'SELECT rolname FROM pg_roles ORDER BY 1')).map((r) => r.rolname);
  const dbsAfter = (await query<{ datname: string; owner: string }>(await superUri(), 'SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database ORDER BY 1'));
  assert.deepEqual(rolesAfter, [...rolesBefore, roleName].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  assert.deepEqual(dbsAfter.map((d) => d.datname), [...dbsBefore, dbName].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  assert.equal(dbsAfter.find((d) => d.datname === dbName)?.owner, roleName);
  const schemas = await superQuery<{ nspname: string }>(dbName, "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1");
  assert.deepEqual(schemas.map((s) => s.nspname), ['public', 'x"; DROP SCHEMA public; --']);
  assert.ok((await role('x')) === undefined);
});

test('extensions and schemas appear, a hand-dropped schema comes back, reclaim delete drops the database', async () => {
  await apply(user('owner', { name: 'shop_owner' }), user('reader', { name: 'shop_reader' }), database('shop', {
    name: 'shop', owner: 'shop_owner', reclaimPolicy: 'delete',
    extensions: [{ name: 'pg_trgm' }, { name: 'hstore', schema: 'ext' }],
    schemas: [{ name: 'ext' }, { name: 'sales', owner: 'shop_reader' }],
    grants: [{ role: 'shop_reader', target: 'database', privileges: ['CONNECT'] }, { role: 'shop_reader', target: 'schema', schema: 'ext', privileges: ['USAGE'] }],
    defaultPrivileges: [{ role: 'shop_reader', schema: 'ext', target: 'tables', privileges: ['SELECT'] }],
  }));
  await applied('pgdb', 'shop');
  const uri = await superUri('shop');
  const exts = await query<{ extname: string; nspname: string }>(uri, 'SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1');
  assert.deepEqual(exts.map((e) => [e.extname, e.nspname]), [['hstore', 'ext'], ['pg_trgm', 'public'], ['plpgsql', 'pg_catalog']]);
  const schemaRows = await query<{ nspname: string; owner: string }>(uri, "SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('ext', 'sales') ORDER BY 1");
  assert.deepEqual(schemaRows.map((s) => [s.nspname, s.owner]), [['ext', 'shop_owner'], ['sales', 'shop_reader']]);
  const [privs] = await query<{ usage: boolean; connect: boolean }>(uri, "SELECT has_schema_privilege('shop_reader', 'ext', 'USAGE') AS usage, has_database_privilege('shop_reader', 'shop', 'CONNECT') AS connect");
  assert.deepEqual(privs, { usage: true, connect: true });
  // Default privileges: a table the owner creates later is readable by the reader.
  await query(uriFor('postgres', cluster.secret('superuser'), cluster.instanceSpec(await primary()).port, 'shop', cluster.caFile()), 'SET ROLE shop_owner; CREATE TABLE ext.items (id int)');
  const [sel] = await query<{ ok: boolean }>(uri, "SELECT has_table_privilege('shop_reader', 'ext.items', 'SELECT') AS ok");
  assert.equal(sel?.ok, true);

  // Drift: someone drops a schema by hand; the next check puts it back.
  await query(uri, 'DROP SCHEMA sales');
  await eventually(() => query<{ n: string }>(uri, "SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'sales'"), (r) => r[0]?.n === '1', 60_000);
  const drifted = await eventually(() => get('pgdb', 'shop'), (r) => Number(r.status?.driftCorrections ?? 0) >= 1, 30_000);
  assert.equal(drifted.status?.applied, true);
  const dbTable = await cluster.ok(['local', 'get', 'pgdb']);
  assert.match(dbTable, /^NAME\s+CLUSTER\s+DATABASE\s+OWNER\s+PHASE\s+APPLIED\s+AGE/);

  await cluster.ok(['local', 'delete', 'pgdb', 'shop', '--wait', '--timeout', '90']);
  const dbs = await query<{ datname: string }>(await superUri(), "SELECT datname FROM pg_database WHERE datname = 'shop'");
  assert.deepEqual(dbs, [], 'reclaimPolicy delete dropped the database');
});

test('an operator SIGKILLed as it starts applying a role resumes and finishes it', async () => {
  const stopped = await cluster.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const stoppedPid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(stoppedPid), (alive) => !alive, 30_000);
  // `applying`, not `applied`: restored users re-enter `applied` at every drift check, and would crash the drill at start.
  const armed = await pgop(['local', 'up', '--state-dir', state], { ...ENV, PGOP_CRASH_AT: 'user:applying' });
  assert.equal(armed.code, 0, armed.stderr);
  const crashingPid = Number(/operator running \(pid (\d+)\)/.exec(armed.stdout)?.[1]);
  const spec = { name: 'crashy', createdb: true, inRoles: ['group_a'] };
  await apply(user('crashy', spec));
  await eventually(async () => isAlive(crashingPid), (alive) => !alive, 60_000);
  const restarted = await pgop(['local', 'up', '--state-dir', state], ENV);
  assert.equal(restarted.code, 0, restarted.stderr);
  await applied('pguser', 'crashy');
  assert.deepEqual(await role('crashy'), expected(spec));
});

test('a failover in the middle of applying a user finishes the work on the new primary', async () => {
  const before = await cluster.waitFor('Ready', allReady, 120_000);
  const oldPrimary = before.status?.currentPrimary ?? '';
  const stopped = await cluster.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const stoppedPid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(stoppedPid), (alive) => !alive, 30_000);
  // The operator dies as the user machine starts applying on the old primary, which is then lost too.
  const armed = await pgop(['local', 'up', '--state-dir', state], { ...ENV, PGOP_CRASH_AT: 'user:applying' });
  assert.equal(armed.code, 0, armed.stderr);
  const crashingPid = Number(/operator running \(pid (\d+)\)/.exec(armed.stdout)?.[1]);
  const spec = { name: 'after_failover', createrole: true, connectionLimit: 3, inRoles: ['group_b'] };
  await apply(user('after-failover', spec));
  await eventually(async () => isAlive(crashingPid), (alive) => !alive, 60_000);
  await cluster.ok(['local', 'kill', oldPrimary]);
  const restarted = await pgop(['local', 'up', '--state-dir', state], ENV);
  assert.equal(restarted.code, 0, restarted.stderr);
  const done = await applied('pguser', 'after-failover', 180_000);
  const c = await cluster.get();
  assert.notEqual(c.status?.currentPrimary, oldPrimary, 'the cluster failed over');
  assert.equal(done.status?.appliedOn, c.status?.currentPrimary);
  assert.deepEqual(await role('after_failover'), expected(spec));
});

test('after a switchover, applied users and databases are checked on the new primary at once, not at the next drift check', async () => {
  // The operator again, with drift checks an hour apart: only the primary's move can bring a check forward.
  const stopped = await cluster.ok(['local', 'kill', 'operator', '--signal', 'TERM']);
  const stoppedPid = Number(/\(pid (\d+)\)/.exec(stopped)?.[1]);
  await eventually(async () => isAlive(stoppedPid), (alive) => !alive, 30_000);
  const restarted = await pgop(['local', 'up', '--state-dir', state], { PGOP_SQL_RESYNC_SECONDS: '3600' });
  assert.equal(restarted.code, 0, restarted.stderr);
  const from = (await cluster.waitFor('Ready', allReady, 180_000)).status?.currentPrimary ?? '';
  // The failover before may have left an object last checked on the old primary: the same watch moves it here.
  for (const [kind, name] of [['pguser', 'flags'], ['pgdb', 'hostile']] as const) {
    await eventually(() => get(kind, name), (o) => o.status?.appliedOn === from && o.status.phase === 'Applied', 90_000);
  }
  await cluster.ok(['local', 'switchover', 'demo', '--timeout', '120']);
  const to = (await cluster.waitFor('Ready', allReady, 120_000)).status?.currentPrimary ?? '';
  assert.notEqual(to, from, 'the switchover moved the primary');
  for (const [kind, name] of [['pguser', 'flags'], ['pgdb', 'hostile']] as const) {
    const r = await eventually(() => get(kind, name), (o) => o.status?.appliedOn === to && o.status.phase === 'Applied', 90_000);
    assert.equal(r.status?.applied, true, `${kind} ${name} is applied on ${to}`);
  }
});

