// A scratch PostgreSQL 15 for the router tests: initdb in a temp dir, scram-sha-256 for TCP, a free port.
import { mkdtempSync, writeFileSync, rmSync, chmodSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { runCommand } from '../../adapters/os/run-command.js';
import { postgresUser, handOver } from '../../adapters/os/os-user.js';

export interface ScratchPostgres {
  host: string;
  port: number;
  user: string;
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

export async function startScratchPostgres(settings: Record<string, string> = {}): Promise<ScratchPostgres> {
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
  await runCommand('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', 'start'], { user });
  const uri = (database = 'postgres', u = 'postgres', p = password) =>
    `postgresql://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${port}/${database}?sslmode=disable`;
  return {
    host: '127.0.0.1', port, user: 'postgres', password, dir, uri,
    stop: async () => {
      await runCommand('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], { user }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
