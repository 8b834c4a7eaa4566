// A private redis-server per state directory, on a unix socket (TCP loopback when the socket path would be too
// long), persisting to the state directory so `down` and `up` keep every resource.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, rmSync } from 'node:fs';
import { connectRedis } from '../redis/connection.js';
import type { StateDir } from './state-dir.js';
import { isAlive, sleep, terminate } from './processes.js';
import { freePort } from './ports.js';

const MAX_SOCKET_PATH = 100;

export async function pingRedis(url: string, timeoutMs = 2000): Promise<boolean> {
  const r = connectRedis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null });
  r.on('error', () => undefined);
  try { await r.connect(); return (await r.ping()) === 'PONG'; } catch { return false; } finally { r.disconnect(); }
}

export async function startRedis(state: StateDir): Promise<{ url: string; pid: number }> {
  mkdirSync(state.redisDir, { recursive: true, mode: 0o700 });
  const useSocket = state.redisSocket.length <= MAX_SOCKET_PATH;
  const port = useSocket ? 0 : await freePort();
  if (useSocket) rmSync(state.redisSocket, { force: true });
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', state.redisDir,
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '60 1',
    '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--protected-mode', 'yes',
    ...(useSocket ? ['--unixsocket', state.redisSocket, '--unixsocketperm', '700'] : []),
  ];
  const log = openSync(state.redisLog, 'a');
  const child = spawn('redis-server', args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  const failed = new Promise<never>((_, reject) => child.once('error', (e) => reject(new Error(`cannot start redis-server: ${e.message}; install the redis-server package (npm run setup)`))));
  child.unref();
  const url = useSocket ? `unix://${state.redisSocket}` : `redis://127.0.0.1:${port}`;
  const ready = (async () => {
    for (let i = 0; i < 100; i++) {
      if (await pingRedis(url, 500)) return;
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}; see ${state.redisLog}`);
      await sleep(100);
    }
    throw new Error(`redis-server did not answer within 10 s; see ${state.redisLog}`);
  })();
  await Promise.race([ready, failed]);
  return { url, pid: child.pid ?? 0 };
}

export async function stopRedis(pid: number | undefined): Promise<void> {
  if (isAlive(pid)) await terminate(pid, 10_000, false);
}
