// PostgreSQL + an in-process router in front of it, with an application role `app` (SCRAM password) owning `app`.
import pg from 'pg';
import { execFile } from 'node:child_process';
import { startScratchPostgres, routerLookupRole, type ScratchPostgres } from './router-pg-harness.js';
import { startRouter, type RunningRouter } from '../../router/server.js';
import type { RouterConfig } from '../../router/config.js';
import { createLogger } from '../../adapters/logging/logger.js';

export interface RouterRig {
  pg: ScratchPostgres;
  router: RunningRouter;
  /** URI of the router for role app / database app. */
  uri: (extra?: string) => string;
  admin: pg.Client;
  stop: () => Promise<void>;
}

export const APP_PASSWORD = 'app pass wörd';

export async function startRouterRig(poolSize: number, overrides: Partial<RouterConfig> = {}): Promise<RouterRig> {
  const server = await startScratchPostgres();
  const admin = new pg.Client({ connectionString: server.uri() });
  await admin.connect();
  await admin.query(`create role app login password ${pg.escapeLiteral(APP_PASSWORD)}`);
  await admin.query('create database app owner app');
  const router = await startRouter({
    listen: { host: '127.0.0.1', port: 0 }, backend: { host: '127.0.0.1', port: server.port },
    auth: await routerLookupRole(server), pool: { size: poolSize }, tls: null, metrics: null, sharding: null,
    ...overrides,
  }, createLogger('router', {}, { write: () => undefined }));
  const uri = (extra = '') => `postgresql://app:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${router.port}/app?sslmode=disable${extra}`;
  return {
    pg: server, router, uri, admin,
    stop: async () => { await router.close(); await admin.end(); await server.stop(); },
  };
}

/** Runs a client tool without blocking the event loop (the router lives in this process). */
export function run(bin: string, args: string[], opts: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(bin, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, env: { ...process.env, ...opts.env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export async function withClient<T>(uri: string, fn: (c: pg.Client) => Promise<T>, config: pg.ClientConfig = {}): Promise<T> {
  const c = new pg.Client({ connectionString: uri, ...config });
  c.on('error', () => undefined);
  await c.connect();
  try { return await fn(c); } finally { await c.end().catch(() => undefined); }
}
