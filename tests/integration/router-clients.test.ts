// Other clients through the router: TLS from clients (SSLRequest), psycopg 3 and asyncpg (both use the extended
// protocol with named statements and binary formats). The Python drivers come from `pip install --user psycopg[binary]
// asyncpg` (scripts/setup.sh note); the tests skip, saying so, where they are missing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startRouterRig, withClient, run, APP_PASSWORD, type RouterRig } from './router-harness.js';

let rig: RouterRig;
let certDir: string;

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'pgop-router-tls-'));
  const key = join(certDir, 'key.pem');
  const cert = join(certDir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  rig = await startRouterRig(2, { tls: { certFile: cert, keyFile: key, require: true } });
});
after(async () => { await rig?.stop(); rmSync(certDir, { recursive: true, force: true }); });

const tlsUri = () => rig.uri().replace('sslmode=disable', 'sslmode=require');

test('TLS: clients that send SSLRequest get an encrypted session; plaintext is refused when TLS is required', async () => {
  const r = await run('psql', [tlsUri(), '-X', '-At', '-c', 'select 6 * 7']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '42');
  const encrypted = await withClient(rig.uri().replace('?sslmode=disable', ''), async (c) => {
    await c.query('select 1');
    return (c as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted === true;
  }, { ssl: { rejectUnauthorized: false } });
  assert.ok(encrypted);
  const plain = await run('psql', [rig.uri(), '-X', '-c', 'select 1']);
  assert.notEqual(plain.code, 0);
  assert.match(plain.stderr, /must use TLS/);
});

// scripts/python-drivers.sh installs the drivers into a private venv; in CI a missing driver is a failure, not a skip.
const venvPython = join(process.env.PGOP_CACHE ?? join(homedir(), '.cache', 'pgop'), 'py', 'bin', 'python3');
const python = existsSync(venvPython) ? venvPython : 'python3';
const hasPython = (mod: string) => spawnSync(python, ['-c', `import ${mod}`]).status === 0 || process.env.CI === 'true';

const PSYCOPG = `
import sys, psycopg
uri = sys.argv[1]
with psycopg.connect(uri, prepare_threshold=0) as c:
    with c.cursor() as cur:
        cur.execute("create table if not exists py (id int primary key, v text)")
        c.commit()
        for i in range(20):
            cur.execute("insert into py values (%s, %s)", (i, f"v{i}"))
            c.commit()
        cur.execute("select count(*), sum(id) from py where id < %s", (100,))
        print("count", cur.fetchone())
        cur.execute("select %s::int8 + 1, %b::bytea", (41, b"\\x00\\xff"), binary=True)
        print("binary", cur.fetchone())
        try:
            cur.execute("insert into py values (1, 'dup')")
        except psycopg.errors.UniqueViolation as e:
            print("sqlstate", e.sqlstate)
        c.rollback()
        with cur.copy("copy py (id, v) from stdin") as cp:
            for i in range(1000, 1100):
                cp.write_row((i, f"copied {i}"))
        c.commit()
        cur.execute("select count(*) from py where id >= 1000")
        print("copied", cur.fetchone()[0])
`;

test('psycopg 3: prepared statements, binary, errors, COPY', { skip: hasPython('psycopg') ? false : 'psycopg not installed (pip install --user "psycopg[binary]")' }, async () => {
  const r = await run(python, ['-c', PSYCOPG, rig.uri().replace('sslmode=disable', 'sslmode=require')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /count \(20, 190\)/);
  assert.match(r.stdout, /binary \(42, b'\\x00\\xff'\)/);
  assert.match(r.stdout, /sqlstate 23505/);
  assert.match(r.stdout, /copied 100/);
});

const ASYNCPG = `
import sys, asyncio, asyncpg, ssl
async def main():
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    pool = await asyncpg.create_pool(sys.argv[1], password=sys.argv[2], ssl=ctx, min_size=4, max_size=4, statement_cache_size=100)
    async def work(i):
        async with pool.acquire() as c:
            total = 0
            for r in range(25):
                async with c.transaction():
                    total += await c.fetchval("select $1::int8 * 2", r + i)
            return total
    print("totals", sum(await asyncio.gather(*[work(i) for i in range(8)])))
    async with pool.acquire() as c:
        try:
            await c.execute("select 1/0")
        except asyncpg.exceptions.DivisionByZeroError as e:
            print("sqlstate", e.sqlstate)
        print("row", tuple(await c.fetchrow("select 'é'::text, 1.5::numeric, array[1,2]::int[]")))
    await pool.close()
asyncio.run(main())
`;

test('asyncpg: a pool of named statements in transactions on 2 backends, binary rows, errors', { skip: hasPython('asyncpg') ? false : 'asyncpg not installed (pip install --user asyncpg)' }, async () => {
  const uri = `postgresql://app@127.0.0.1:${rig.router.port}/app`;
  const r = await run(python, ['-c', ASYNCPG, uri, APP_PASSWORD]);
  assert.equal(r.code, 0, r.stderr);
  // sum over i in 0..7, r in 0..24 of 2(r + i) = 2(8 * 300 + 25 * 28)
  assert.match(r.stdout, /totals 6200/);
  assert.match(r.stdout, /sqlstate 22012/);
  assert.match(r.stdout, /row \('é', Decimal\('1.5'\), \[1, 2\]\)/);
});
