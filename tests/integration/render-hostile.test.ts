// The agent's renderer is the last door: even if hostile parameters or pg_hba lines got past admission (an old
// CRD, a hand-edited spec file), PostgreSQL itself must read exactly the intended settings and rules. One scratch
// server per file; pg_file_settings and pg_hba_file_rules re-read the files on every query, no reload needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, appendFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runCommand } from '../../adapters/os/run-command.js';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';
import { pgBinDir } from '../../adapters/local/postgres-install.js';
import { freePort } from '../../adapters/local/ports.js';
import { renderPgopConf, renderHba, PGOP_CONF, INCLUDE_LINE } from '../../instance/render.js';
import type { InstanceSpec } from '../../adapters/instance/spec.js';
import { createCa, issueServerCert } from '../../adapters/certs/x509.js';

const user = postgresUser();
const bin = pgBinDir(15);
const dir = mkdtempSync(join(tmpdir(), 'pgop-render-'));
const data = join(dir, 'data');
const hbaFile = join(dir, 'rendered_hba.conf');
let server: ChildProcess;
let client: pg.Client;

const spec = (parameters: Record<string, string>, pgHba: string[] = [], host = '127.0.0.1'): InstanceSpec => ({
  cluster: { namespace: 'default', name: 'demo' }, name: 'demo-1', serial: 1, host, port: 5999, httpPort: 8001,
  dataDir: data, runDir: dir, logFile: '/dev/null', pgBinDir: bin,
  bootstrap: { mode: 'clone', source: { host: '127.0.0.1', port: 5432 } }, primary: null,
  replicationSlot: 'pgop_demo_1', parameters, pgHba,
  secrets: { superuser: '/s', replication: '/r', app: '/a', agentToken: '/t' }, tls: { certFile: '/t/tls.crt', keyFile: '/t/tls.key', caFile: '/t/ca.crt', serverName: null }, runAsUser: null,
  members: ['demo-1'], synchronous: null, lease: null, faultsFile: null,
});

before(async () => {
  chmodSync(dir, 0o755);
  handOver(dir, user);
  await runCommand(join(bin, 'initdb'), ['-D', data, '--auth=trust', '--username=postgres', '--no-sync'], { user });
  // The server authenticates with these rules; the rendered file is only parsed by pg_hba_file_rules.
  writeFileSync(hbaFile, 'local all all trust\n');
  handOver(hbaFile, user);
  appendFileSync(join(data, 'postgresql.conf'), `\n${INCLUDE_LINE}\n`);
  writeFileSync(join(data, PGOP_CONF), '');
  handOver(join(data, PGOP_CONF), user);
  // TLS on, as in every pgop instance: otherwise PostgreSQL reports the rendered hostssl rules as unmatchable.
  const now = new Date();
  const ca = await createCa('render-test CA', now, 86_400_000);
  const cert = await issueServerCert(ca, 'render-test', { dns: ['localhost'], ips: ['127.0.0.1'] }, now, 86_400_000);
  for (const [name, text] of [['server.crt', cert.cert], ['server.key', cert.key]] as const) {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    handOver(join(dir, name), user);
  }
  const port = await freePort();
  server = spawn(join(bin, 'postgres'), ['-D', data, '-k', dir, '-p', String(port), '-c', 'listen_addresses=', '-c', `hba_file=${hbaFile}`,
    '-c', 'ssl=on', '-c', `ssl_cert_file=${join(dir, 'server.crt')}`, '-c', `ssl_key_file=${join(dir, 'server.key')}`], {
    stdio: 'ignore', ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  for (let i = 0; ; i++) {
    client = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
    try { await client.connect(); break; } catch (e) { if (i > 100) throw e; await new Promise((r) => setTimeout(r, 200)); }
  }
});

after(async () => {
  await client?.end().catch(() => undefined);
  server?.kill('SIGINT');
  await new Promise((r) => server?.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

/** What PostgreSQL reads from pgop.conf: name → setting, and any parse errors. */
async function settingsFrom(conf: string): Promise<{ settings: Record<string, string>; errors: string[] }> {
  writeFileSync(join(data, PGOP_CONF), conf);
  const r = await client.query<{ name: string | null; setting: string | null; error: string | null }>(
    `SELECT name, setting, error FROM pg_file_settings WHERE sourcefile LIKE '%' || $1 ORDER BY seqno`, [PGOP_CONF]);
  const settings: Record<string, string> = {};
  for (const row of r.rows) if (row.name) settings[row.name] = row.setting ?? '';
  // "setting could not be applied" only says a restart is needed (this scratch server runs on other ports).
  return { settings, errors: r.rows.filter((x) => x.error && x.error !== 'setting could not be applied').map((x) => `${x.name}: ${x.error}`) };
}

/** Hostile user parameters and the owned value PostgreSQL must still see. */
const HOSTILE: [string, Record<string, string>][] = [
  ['upper-case owned names', { ARCHIVE_MODE: 'on', ARCHIVE_COMMAND: 'touch /tmp/pwned-archive-%f' }],
  ['mixed-case owned name', { Archive_Command: 'touch /tmp/pwned' }],
  ['code loading', { shared_preload_libraries: 'evil', session_preload_libraries: 'evil', local_preload_libraries: 'evil', dynamic_library_path: '/tmp', jit_provider: '../../tmp/evil' }],
  ['a value that ends its line', { work_mem: "4MB'\narchive_command = 'touch /tmp/pwned" }],
  ['a value with CR', { work_mem: "4MB'\rarchive_command = 'touch /tmp/pwned" }],
  ['a value with NUL', { work_mem: '4MB\u0000' }],
  ['names with -, space, =', { 'work-mem': '1MB', 'work_mem archive_command': '1MB', 'x=archive_command': '1' }],
  ['a name with a newline', { "a = 'b'\narchive_command": 'touch /tmp/pwned' }],
  ['include directives', { include: '/etc/passwd', include_dir: '/tmp', include_if_exists: '/tmp/x' }],
];

test('hostile parameters never reach PostgreSQL; owned settings keep their values', async () => {
  const baseline = (await settingsFrom(renderPgopConf(spec({}), { standby: false, passfile: '/p' }))).settings;
  assert.equal(baseline.port, '5999');
  for (const [what, parameters] of HOSTILE) {
    const { settings, errors } = await settingsFrom(renderPgopConf(spec(parameters), { standby: false, passfile: '/p' }));
    assert.deepEqual(errors, [], `${what}: PostgreSQL reads the file without errors`);
    assert.deepEqual(settings, baseline, `${what}: exactly the operator's settings, nothing from the user`);
  }
});

test('quotes and backslashes in values arrive intact, and dotted extension names are kept', async () => {
  const values = { search_path: "'$user', public", application_name: 'ends with a backslash \\', 'myext.setting': "it's \\' tricky\\n", work_mem: '4MB' };
  const { settings, errors } = await settingsFrom(renderPgopConf(spec(values), { standby: false, passfile: '/p' }));
  assert.deepEqual(errors, []);
  for (const [k, v] of Object.entries(values)) assert.equal(settings[k], v, k);
  // Operator-owned: with no repository, archiving is on but discards (ADR 0044), whatever the user's parameters say.
  assert.equal(settings.archive_command, 'true');
  assert.equal(settings.archive_mode, 'on');
});

interface HbaRow { line_number: number; type: string; database: string[]; user_name: string[]; address: string | null; netmask: string | null; auth_method: string; error: string | null }

async function hbaRules(text: string): Promise<HbaRow[]> {
  writeFileSync(hbaFile, text);
  return (await client.query<HbaRow>('SELECT line_number, type, database, user_name, address, netmask, auth_method, error FROM pg_hba_file_rules ORDER BY line_number')).rows;
}

const HOSTILE_HBA = [
  'host all all 0.0.0.0/0 trust',
  'host all all 0.0.0.0/0 md5',
  'host all all 0.0.0.0/0 password',
  'local all all peer',
  'host all all 0.0.0.0/0 scram-sha-256\nhost all all 0.0.0.0/0 trust',
  'host "all" all 0.0.0.0/0 scram-sha-256',
  'host @dbs all 0.0.0.0/0 scram-sha-256',
  'include /etc/hba.conf',
  'hostnossl all all 0.0.0.0/0 scram-sha-256',
  'host replication all 0.0.0.0/0 scram-sha-256',
  'host all all 0.0.0.0/0 ident',
];

test('hostile pg_hba lines are dropped; PostgreSQL reads only scram, cert and reject rules', async () => {
  for (const host of ['127.0.0.1', '10.1.2.3']) {
    const base = await hbaRules(renderHba(spec({}, [], host)));
    assert.deepEqual(base.filter((r) => r.error), [], 'the operator rules parse');
    const withHostile = await hbaRules(renderHba(spec({}, ['host app app 10.0.0.0/8 scram-sha-256', ...HOSTILE_HBA], host)));
    assert.deepEqual(withHostile.filter((r) => r.error), []);
    const methods = new Set(withHostile.map((r) => r.auth_method));
    assert.deepEqual([...methods].filter((m) => !['scram-sha-256', 'reject'].includes(m)), [], `${host}: only scram and reject`);
    assert.equal(withHostile.length, base.length + 1, `${host}: only the well-formed user line was added`);
    assert.ok(withHostile.some((r) => r.address === '10.0.0.0' && r.database.join() === 'app'));
  }
});

test('the superuser is limited to the socket and loopback, IPv6 included; replication only for its role', async () => {
  const rules = await hbaRules(renderHba(spec({}, ['host all all 0.0.0.0/0 scram-sha-256', 'host all all ::/0 scram-sha-256'])));
  // The first rule a TCP connection matches; over TLS the hostnossl rules do not apply, without TLS hostssl ones.
  const first = (user: string, address: string, database = 'app', tls = true) => rules.find((r) =>
    r.type !== 'local' && r.type !== (tls ? 'hostnossl' : 'hostssl') && (r.user_name.includes('all') || r.user_name.includes(user)) && (r.database.includes('all') || r.database.includes(database))
    && r.address !== null && inNet(address, r.address, r.netmask ?? ''));
  assert.equal(first('postgres', '10.9.9.9')?.auth_method, 'reject', 'superuser from a remote IPv4 address');
  assert.equal(first('postgres', '2001:db8::1')?.auth_method, 'reject', 'superuser from a remote IPv6 address');
  assert.equal(first('postgres', '127.0.0.1')?.auth_method, 'scram-sha-256');
  assert.equal(first('postgres', '::1')?.auth_method, 'scram-sha-256');
  assert.equal(first('app', '10.9.9.9')?.auth_method, 'scram-sha-256', 'the user rule applies to other roles');
  assert.equal(first('app', '2001:db8::1', 'replication')?.auth_method, 'reject', 'replication over IPv6 for other roles');
  assert.equal(first('streaming_replica', '::1', 'replication')?.auth_method, 'scram-sha-256');
  for (const [user, database] of [['postgres', 'app'], ['app', 'app'], ['streaming_replica', 'replication']]) {
    assert.equal(first(user ?? '', '127.0.0.1', database, false)?.auth_method, 'reject', `${user} without TLS`);
  }
});

/** Whether `ip` lies in `net`/`mask` (PostgreSQL reports the mask in address form). */
function inNet(ip: string, net: string, mask: string): boolean {
  const bytes = (a: string): number[] => {
    if (!a.includes(':')) return a.split('.').map(Number);
    const [head = '', tail = ''] = a.split('::');
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
    return groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 255]; });
  };
  const [x, n, m] = [bytes(ip), bytes(net), bytes(mask)];
  return x.length === n.length && x.every((b, i) => (b & (m[i] ?? 0)) === ((n[i] ?? 0) & (m[i] ?? 0)));
}
