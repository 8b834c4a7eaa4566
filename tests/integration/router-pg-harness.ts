// A scratch PostgreSQL 15 for the router tests: initdb in a temp dir, scram-sha-256 for TCP, a free port.
import { mkdtempSync, writeFileSync, rmSync, chmodSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { runCommand } from '../../adapters/os/run-command.js';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';
import { ensureRouterAuth, ROUTER_AUTH_DATABASE, ROUTER_AUTH_USER } from '../../adapters/router/router-auth-sql.js';

export interface ScratchPostgres {
  host: string;
  port: number;
  user: string;
  data: string;
  /** Stops the server (fast shutdown: sessions get 57P01), optionally changes its port, starts it again. */
  restart: (opts?: { port?: number; stopOnly?: boolean }) => Promise<void>;
  start: () => Promise<void>;
  password: string;
  dir: string;
  uri: (database?: string, user?: string, password?: string) => string;
  stop: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ScratchOptions {
  /** Replaces pg_hba.conf (e.g. hostssl-only). */
  hba?: string;
  /** Files written into the data directory, owned by the server's user, mode 0600 (certificates, keys). */
  files?: Record<string, string>;
}

export async function startScratchPostgres(settings: Record<string, string> = {}, opts: ScratchOptions = {}): Promise<ScratchPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-router-pg-'));
  chmodSync(dir, 0o755);
  const user = postgresUser();
  handOver(dir, user);
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  handOver(pwfile, user);
  await runCommand('initdb', ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'], { user });
  const port = await freePort();
  const conf = { listen_addresses: "'127.0.0.1'", port: String(port), unix_socket_directories: `'${dir}'`, fsync: 'off', max_connections: '200', ...settings };
  appendFileSync(join(data, 'postgresql.conf'), Object.entries(conf).map(([k, v]) => `${k} = ${v}\n`).join(''));
  if (opts.hba !== undefined) { writeFileSync(join(data, 'pg_hba.conf'), opts.hba); handOver(join(data, 'pg_hba.conf'), user); }
  for (const [name, body] of Object.entries(opts.files ?? {})) { writeFileSync(join(data, name), body, { mode: 0o600 }); handOver(join(data, name), user); }
  await runCommand('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', 'start'], { user });
  const uri = (database = 'postgres', u = 'postgres', p = password) =>
    `postgresql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${server.port}/${database}?sslmode=${opts.hba?.includes('hostssl') ? 'no-verify' : 'disable'}`;
  const server: ScratchPostgres = {
    host: '127.0.0.1', port, user: 'postgres', password, dir, data, uri,
    restart: async (o = {}) => {
      await runCommand('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop'], { user });
      if (o.port !== undefined) { appendFileSync(join(data, 'postgresql.conf'), `port = ${o.port}\n`); server.port = o.port; }
      if (!o.stopOnly) await server.start();
    },
    start: async () => { await runCommand('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', 'start'], { user }); },
    stop: async () => {
      await runCommand('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { user }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

/**
 * The router's lookup role and function on this server, as the operator ensures them (ADR 0039): the router's auth
 * section. Installed over the Unix socket (trust), so it works whatever TCP/TLS rules the server has.
 */
export async function routerLookupRole(server: ScratchPostgres): Promise<{ user: string; password: string; database: string }> {
  const password = `lookup-${Math.random().toString(36).slice(2)}`;
  await ensureRouterAuth({ host: server.dir, port: server.port, user: 'postgres', password: server.password }, password);
  return { user: ROUTER_AUTH_USER, password, database: ROUTER_AUTH_DATABASE };
}
