// The router process: accepts clients, logs them in, hands them to sessions; owns the pools, the cancel keys and
// the statement names shared by all sessions.
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { RouterConfigError, type RouterConfig } from './config.js';
import type { BackendTarget } from './pool/backend-stream.js';
import { RouterMetrics } from './metrics.js';
import { StatementNames } from './session/statement-names.js';
import { BackendPool } from './pool/backend-pool.js';
import { VerifierSource, LookupUnavailable } from './auth/verifier-source.js';
import { login, LoginRefused } from './session/client-login.js';
import { ClientSession } from './session/client-session.js';
import type { Cancellable, RouterContext } from './session/router-context.js';
import * as msg from './protocol/backend-messages.js';
import { ProtocolViolation } from './protocol/frame-buffer.js';
import { singlePool, type ShardPools } from './pool/shard-pools.js';
import { buildRoutingTable } from './routing/routing-table.js';
import { parseShardName } from './vindex/key-range.js';
import { buildShardingScheme } from './planner/sharding-scheme.js';
import { PlanCache, loadParser } from './planner/parse-cache.js';
import type { ShardRouting } from './session/shard-routing.js';

interface Placement { routing: ShardRouting; addresses: Map<string, BackendTarget> }

const readCa = (file: string, field: string): string => {
  try { return readFileSync(file, 'utf8'); } catch (e) {
    throw new RouterConfigError(`${field}: ${(e as Error).message}`);
  }
};

type TargetOf = (host: string, port: number, servername: string | null, shardTls?: { caFile: string; servername: string | null } | null, field?: string) => BackendTarget;

/**
 * Where backends are, with every CA read now (a reload re-reads them, so CA rotation needs only a SIGHUP). A shard's
 * own `tls` (its cluster's CA) wins over backend.tls.
 */
function targetsFrom(config: RouterConfig): { backend: BackendTarget; target: TargetOf } {
  const ca = config.backend.tls ? readCa(config.backend.tls.caFile, 'backend.tls.caFile') : null;
  const tlsName = config.backend.tls?.servername ?? null;
  const target: TargetOf = (host, port, servername, shardTls, field = 'sharding.shards') => {
    const shardCa = shardTls ? readCa(shardTls.caFile, `${field}.tls.caFile`) : ca;
    const name = servername ?? shardTls?.servername ?? tlsName;
    return { host, port, tls: shardCa ? { ca: shardCa, ...(name ? { servername: name } : {}) } : null };
  };
  return { backend: target(config.backend.host, config.backend.port, null), target };
}

/** Routing table, plan cache and shard addresses from the config (validated: no gap, no overlap). */
async function shardingFrom(config: RouterConfig, target: TargetOf): Promise<Placement | null> {
  if (!config.sharding) return null;
  const table = buildRoutingTable({ generation: config.sharding.generation, ranges: config.sharding.shards.map((s) => ({ shard: s.name, ...parseShardName(s.name) })) });
  await loadParser();
  return {
    routing: { table, plans: new PlanCache(buildShardingScheme(config.sharding.tables, 'sharding.tables', config.sharding.referenceTables)), defaultShard: table.shards[0]! },
    addresses: new Map(config.sharding.shards.map((s, i) => [s.name, target(s.host, s.port, s.servername ?? null, s.tls ?? null, `sharding.shards[${i}]`)])),
  };
}

/** The privileged auth-query connection, over TLS verified like the pools when the backends have TLS. */
function verifierSource(target: BackendTarget, config: RouterConfig, log: Logger): VerifierSource {
  return new VerifierSource({ host: target.host, port: target.port, ...config.auth, tls: target.tls ?? null }, log);
}

/**
 * A read-only router checks logins on the replicas too (it keeps serving reads while the primary is down): when none
 * answers, the client is told so instead of a bare socket error. A lookup that ran and failed is passed on as it is.
 */
function replicasUnreachable(e: unknown, backend: BackendTarget): Error {
  const code = String((e as { code?: unknown }).code ?? '');
  const sqlstate = /^[0-9A-Z]{5}$/.test(code) ? code : null;
  if (e instanceof LookupUnavailable || (sqlstate && !/^(08|57P)/.test(sqlstate))) return e as Error;
  return new LoginRefused('57P03', `no ready replica answers behind the read-only router's backend ${backend.host}:${backend.port} (it does not fall back to the primary; use the read-write router): ${(e as Error).message}`);
}

const DEFAULT_BUFFER = { timeoutMs: 10_000, maxQueued: 1000 };

/** PostgreSQL's authentication_timeout default. */
const LOGIN_TIMEOUT_MS = 60_000;

export interface RunningRouter {
  port: number;
  metrics: RouterMetrics;
  /**
   * Applies a re-read config: shard addresses and TLS (failover, switchover, CA rotation), the routing generation
   * the sharded/reference tables and the lookup role's credentials. Listen address, pool size and the set of shard names need a restart;
   * a config changing the shard names is refused whole (the running one stays).
   */
  reload(config: RouterConfig): Promise<void>;
  close(): Promise<void>;
}

export async function startRouter(config: RouterConfig, log: Logger): Promise<RunningRouter> {
  let targets = targetsFrom(config);
  const readOnly = config.backend.readOnly === true;
  let sharding = await shardingFrom(config, targets.target);
  // Roles must exist alike on every shard; the verifiers are read from the default (first) one.
  const authTargetOf = () => (sharding ? sharding.addresses.get(sharding.routing.defaultShard)! : targets.backend);
  let authTarget = authTargetOf();
  let verifiers = verifierSource(authTarget, config, log);
  let authConfig = config;
  const pools = new Map<string, ShardPools>();
  const cancelKeys = new Map<number, { secretKey: number; target: Cancellable }>();
  const tls: SecureContext | null = config.tls
    ? createSecureContext({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2' })
    : null;
  const metrics = new RouterMetrics(() => [...pools.values()].flatMap((sp) => sp.all()).map((p) => ({ role: p.role, database: p.database, shard: p.shard, stats: p.stats() })));

  const ctx: RouterContext = {
    log,
    metrics,
    statements: new StatementNames(),
    lookupVerifier: (role) => (readOnly ? verifiers.lookup(role).catch((e: unknown) => { throw replicasUnreachable(e, targets.backend); }) : verifiers.lookup(role)),
    roleVerifier: (role) => verifiers.raw(role),
    tls,
    requireTls: config.tls?.require ?? false,
    mockSecret: randomBytes(32),
    sharding: sharding?.routing ?? null,
    readOnly,
    poolFor(role, database, keys) {
      const key = `${role}\0${database}`;
      let p = pools.get(key);
      if (!p) {
        const make = (target: BackendTarget, shard: string) =>
          new BackendPool(role, database, target, config.pool.size, keys, log.child({ role, database, ...(shard ? { shard } : {}) }), config.buffer ?? DEFAULT_BUFFER, shard, metrics.poolEvents(shard), readOnly);
        if (!sharding) p = singlePool(make(targets.backend, ''));
        else {
          const byShard = new Map([...sharding.addresses].map(([name, addr]) => [name, make(addr, name)]));
          const fallback = byShard.get(sharding.routing.defaultShard)!;
          p = { default: fallback, get: (s) => byShard.get(s) ?? fallback, all: () => [...byShard.values()] };
        }
        pools.set(key, p);
      } else for (const one of p.all()) one.updateKeys(keys);
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
    // A connection that does not finish logging in is dropped, like PostgreSQL's authentication_timeout.
    socket.setTimeout(LOGIN_TIMEOUT_MS, () => { if (!loggedIn) socket.destroy(); });
    let loggedIn = false;
    const current = { socket };
    login(socket, ctx, current).then((li) => {
      loggedIn = true;
      socket.setTimeout(0);
      if (!li) return;
      li.socket.on('close', () => sockets.delete(li.socket));
      new ClientSession(ctx, li);
    }, (e: Error) => {
      if (!(e instanceof LoginRefused) && !(e instanceof ProtocolViolation)) log.warn({ err: e.message }, 'login failed');
      const code = e instanceof LoginRefused ? e.sqlstate : e instanceof ProtocolViolation ? '08P01' : '08006';
      if (!current.socket.destroyed) current.socket.end(msg.errorResponse({ severity: 'FATAL', code, message: e.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.listen.port;
  log.info({ listen: `${config.listen.host}:${port}`, backend: sharding ? [...sharding.addresses.keys()] : `${config.backend.host}:${config.backend.port}`, poolSize: config.pool.size, tls: !!tls }, 'router listening');
  return {
    port,
    metrics,
    async reload(next: RouterConfig) {
      const nextTargets = targetsFrom(next);
      const nextSharding = await shardingFrom(next, nextTargets.target);
      if ((next.backend.readOnly === true) !== readOnly) throw new RouterConfigError(`reload refused: backend.readOnly changed to ${next.backend.readOnly === true}; a router changes between read-write and read-only only by a restart`);
      const names = (p: Placement | null) => (p ? [...p.addresses.keys()].sort().join(',') : '');
      if (names(nextSharding) !== names(sharding)) {
        throw new RouterConfigError(`reload refused: the shards changed from [${names(sharding)}] to [${names(nextSharding)}]; adding or removing shards needs a router restart`);
      }
      targets = nextTargets;
      sharding = nextSharding;
      ctx.sharding = sharding?.routing ?? null;
      for (const sp of pools.values()) {
        for (const p of sp.all()) p.retarget(sharding ? sharding.addresses.get(p.shard)! : targets.backend);
      }
      const nextAuth = authTargetOf();
      // A moved auth target (failover of the first shard), or new lookup credentials (the operator rotated the
      // lookup role's password, ADR 0039): a new lookup pool; logins in flight finish on the old one.
      const credentials = (c: RouterConfig) => `${c.auth.user}\0${c.auth.password}\0${c.auth.database}`;
      if (nextAuth.host !== authTarget.host || nextAuth.port !== authTarget.port || nextAuth.tls?.ca !== authTarget.tls?.ca || nextAuth.tls?.servername !== authTarget.tls?.servername
        || credentials(next) !== credentials(authConfig)) {
        const old = verifiers;
        verifiers = verifierSource(nextAuth, next, log);
        authTarget = nextAuth;
        authConfig = next;
        void old.end().catch(() => undefined);
      }
      log.info({ generation: sharding?.routing.table.generation ?? null, backend: sharding ? Object.fromEntries([...sharding.addresses].map(([k, v]) => [k, `${v.host}:${v.port}`])) : `${targets.backend.host}:${targets.backend.port}` }, 'router config reloaded');
    },
    async close() {
      await new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); });
      for (const p of pools.values()) for (const one of p.all()) one.close();
      await verifiers.end();
    },
  };
}
