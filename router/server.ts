// The router process: accepts clients, logs them in, hands them to sessions; owns the pools, the cancel keys and
// the statement names shared by all sessions.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { RouterConfig } from './config.js';
import { RouterMetrics } from './metrics.js';
import { StatementNames } from './session/statement-names.js';
import { BackendPool } from './pool/backend-pool.js';
import { VerifierSource } from './auth/verifier-source.js';
import { login, LoginRefused } from './session/client-login.js';
import { ClientSession } from './session/client-session.js';
import type { Cancellable, RouterContext } from './session/router-context.js';
import * as msg from './protocol/backend-messages.js';
import { ProtocolViolation } from './protocol/frame-buffer.js';

export interface RunningRouter {
  port: number;
  metrics: RouterMetrics;
  close(): Promise<void>;
}

export async function startRouter(config: RouterConfig, log: Logger): Promise<RunningRouter> {
  const verifiers = new VerifierSource({ ...config.backend, ...config.auth }, log);
  const pools = new Map<string, BackendPool>();
  const cancelKeys = new Map<number, { secretKey: number; target: Cancellable }>();
  const tls: SecureContext | null = config.tls
    ? createSecureContext({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2' })
    : null;
  const metrics = new RouterMetrics(() => [...pools.values()].map((p) => ({ role: p.role, database: p.database, stats: p.stats() })));

  const ctx: RouterContext = {
    log,
    metrics,
    statements: new StatementNames(),
    lookupVerifier: (role) => verifiers.lookup(role),
    tls,
    requireTls: config.tls?.require ?? false,
    mockSecret: randomBytes(32),
    poolFor(role, database, keys) {
      const key = `${role}\0${database}`;
      let p = pools.get(key);
      if (!p) {
        p = new BackendPool(role, database, config.backend, config.pool.size, keys, log.child({ role, database }));
        pools.set(key, p);
      } else p.updateKeys(keys);
      return p;
    },
    registerCancelKey(target) {
      let processId: number;
      do processId = randomInt(1, 0x7fffffff); while (cancelKeys.has(processId));
      const secretKey = randomInt(0, 0x7fffffff);
      cancelKeys.set(processId, { secretKey, target });
      return { processId, secretKey };
    },
    forgetCancelKey(processId) { cancelKeys.delete(processId); },
    cancel(processId, secretKey) {
      const k = cancelKeys.get(processId);
      // A wrong secret is ignored silently, as PostgreSQL does.
      if (k && k.secretKey === secretKey >>> 0) k.target.cancelRunning();
    },
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    login(socket, ctx).then((li) => {
      if (!li) return;
      li.socket.on('close', () => sockets.delete(li.socket));
      new ClientSession(ctx, li);
    }, (e: Error) => {
      if (!(e instanceof LoginRefused) && !(e instanceof ProtocolViolation)) log.warn({ err: e.message }, 'login failed');
      const code = e instanceof LoginRefused ? e.sqlstate : e instanceof ProtocolViolation ? '08P01' : '08006';
      if (!socket.destroyed) socket.end(msg.errorResponse({ severity: 'FATAL', code, message: e.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  log.info({ listen: `${config.listen.host}:${port}`, backend: `${config.backend.host}:${config.backend.port}`, poolSize: config.pool.size, tls: !!tls }, 'router listening');
  return {
    port,
    metrics,
    async close() {
      await new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); });
      for (const p of pools.values()) p.close();
      await verifiers.end();
    },
  };
}
