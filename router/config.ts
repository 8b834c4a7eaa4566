// Router configuration: a small JSON file and/or CLI flags, checked at the door with errors naming the field.
// The auth-query password never travels in argv: it comes from the file, a password file, or the environment.
import { readFileSync } from 'node:fs';

export interface RouterConfig {
  listen: { host: string; port: number };
  /**
   * The unsharded backend, and TLS towards every backend (shards included) and the auth connection:
   * `backend.tls: { caFile, servername? }` verifies like libpq's sslmode=verify-full against the CA in `caFile`
   * (re-read at each reload, so CA rotation needs only a SIGHUP); the certificate must name `servername`, or the
   * host connected to when absent. Null: plain TCP (loopback tests only; pgop clusters are hostssl-only).
   */
  backend: { host: string; port: number; tls?: { caFile: string; servername: string | null } | null;
    /**
     * A read-only router (ADR 0043): `host:port` spreads connections over streaming replicas (a -ro endpoint or
     * Service). Backend connections must be hot standbys (a promoted one is dropped, never used for writes), writes
     * come back as PostgreSQL's own 25006 instead of being held for a replay, and idle connections are reused FIFO so
     * that transactions rotate over the replicas (PgBouncer's server_round_robin). Never falls back to a primary.
     */
    readOnly?: boolean };
  /** Holding new transactions while a backend is unavailable (switchover, failover): at most `maxQueued` clients for `timeoutMs`. */
  buffer?: { timeoutMs: number; maxQueued: number };
  /**
   * The lookup connection: a least-privilege role (the operator's pgop_router, ADR 0039) that reads verifiers through
   * the SECURITY DEFINER function pgop_router.lookup in `database`. Backends are opened as each client's own role.
   */
  auth: { user: string; password: string; database: string };
  pool: { size: number };
  tls: { certFile: string; keyFile: string; require: boolean } | null;
  metrics: { host: string; port: number } | null;
  /** Sharded mode: shards named after their key range ("-80", "80-"), and which tables are sharded by what. */
  sharding: {
    generation: number;
    /**
     * `servername` overrides backend.tls.servername for this shard's certificate check. `tls: { caFile, servername? }`
     * verifies this shard against its own CA (each shard is its own cluster with its own CA), overriding backend.tls.
     */
    shards: { name: string; host: string; port: number; servername?: string | null; tls?: { caFile: string; servername: string | null } | null }[];
    tables: Record<string, unknown>;
    /** Tables copied to every shard: reads go to one shard, writes to all. */
    referenceTables?: string[];
  } | null;
}

export class RouterConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'RouterConfigError'; }
}

type Json = Record<string, unknown>;
const obj = (v: unknown, field: string): Json => {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RouterConfigError(`${field} must be an object`);
  return v as Json;
};
const str = (v: unknown, field: string, fallback?: string): string => {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v === '' || /[\0\r\n]/.test(v)) throw new RouterConfigError(`${field} must be a non-empty string without control characters`);
  return v;
};
const port = (v: unknown, field: string, fallback?: number): number => {
  const n = v === undefined ? fallback : typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) throw new RouterConfigError(`${field} must be a TCP port (0-65535)`);
  return n;
};

/** "host:port" or ":port" or "port". */
export function parseAddress(s: string, field: string): { host?: string; port: number } {
  const i = s.lastIndexOf(':');
  const host = i > 0 ? s.slice(0, i).replace(/^\[|\]$/g, '') : undefined;
  return { ...(host ? { host } : {}), port: port(i >= 0 ? s.slice(i + 1) : s, field) };
}

function tlsSection(v: unknown, field: string): { caFile: string; servername: string | null } | null {
  if (v === undefined || v === null) return null;
  const o = obj(v, field);
  const caFile = str(o.caFile, `${field}.caFile`);
  for (const k of Object.keys(o)) if (k !== 'caFile' && k !== 'servername') throw new RouterConfigError(`${field}.${k} is unknown; use caFile and servername`);
  return { caFile, servername: o.servername === undefined ? null : str(o.servername, `${field}.servername`) };
}

const SHARD_KEYS = new Set(['name', 'host', 'port', 'servername', 'tls']);

const IDENT = /^[a-z_][a-z0-9_$]{0,62}$/;
function referenceTables(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((t) => typeof t === 'string' && IDENT.test(t))) {
    throw new RouterConfigError('sharding.referenceTables must be a list of lower-case unquoted table names, e.g. ["countries"]');
  }
  return v as string[];
}

export interface RouterFlags {
  config?: string;
  listen?: string;
  backend?: string;
  authUser?: string;
  authDatabase?: string;
  authPasswordFile?: string;
  poolSize?: string;
  tlsCert?: string;
  tlsKey?: string;
  requireTls?: boolean;
  metrics?: string;
  readOnly?: boolean;
}

export function loadRouterConfig(flags: RouterFlags, env: NodeJS.ProcessEnv = process.env): RouterConfig {
  let file: Json = {};
  if (flags.config) {
    try { file = obj(JSON.parse(readFileSync(flags.config, 'utf8')), flags.config); } catch (e) {
      throw new RouterConfigError(`--config ${flags.config}: ${(e as Error).message}`);
    }
  }
  const known = new Set(['listen', 'backend', 'auth', 'pool', 'tls', 'metrics', 'sharding', 'buffer']);
  for (const k of Object.keys(file)) if (!known.has(k)) throw new RouterConfigError(`config key "${k}" is unknown; use ${[...known].join(', ')}`);
  const fl = obj(file.listen, 'listen'), fb = obj(file.backend, 'backend'), fa = obj(file.auth, 'auth'), fp = obj(file.pool, 'pool');
  const listenFlag: { host?: string; port?: number } = flags.listen ? parseAddress(flags.listen, '--listen') : {};
  const backendFlag: { host?: string; port?: number } = flags.backend ? parseAddress(flags.backend, '--backend') : {};
  const passwordFile = flags.authPasswordFile ?? (fa.passwordFile as string | undefined);
  let password = env.PGOP_ROUTER_AUTH_PASSWORD ?? (fa.password as string | undefined);
  if (passwordFile) {
    try { password = readFileSync(str(passwordFile, 'auth.passwordFile'), 'utf8').replace(/\r?\n$/, ''); } catch (e) {
      throw new RouterConfigError(`auth.passwordFile: ${(e as Error).message}`);
    }
  }
  if (!password) throw new RouterConfigError('auth password is missing: set auth.passwordFile (or --auth-password-file), auth.password in the config file, or PGOP_ROUTER_AUTH_PASSWORD');
  const size = Number(flags.poolSize ?? fp.size ?? 20);
  if (!Number.isInteger(size) || size < 1 || size > 10000) throw new RouterConfigError('pool.size must be an integer from 1 to 10000');
  const ft = file.tls === undefined || file.tls === null ? null : obj(file.tls, 'tls');
  const certFile = flags.tlsCert ?? (ft?.certFile as string | undefined);
  const keyFile = flags.tlsKey ?? (ft?.keyFile as string | undefined);
  if (!!certFile !== !!keyFile) throw new RouterConfigError('tls needs both certFile and keyFile (--tls-cert and --tls-key)');
  const requireTls = flags.requireTls ?? ft?.require === true;
  if (requireTls && !certFile) throw new RouterConfigError('tls.require needs tls.certFile and tls.keyFile');
  const fm = file.metrics === undefined ? null : obj(file.metrics, 'metrics');
  const metricsFlag = flags.metrics ? parseAddress(flags.metrics, '--metrics') : null;
  const metrics = metricsFlag ?? (fm ? { host: fm.host, port: fm.port } : null);
  const backendTls = tlsSection(fb.tls, 'backend.tls');
  const readOnly = flags.readOnly ?? fb.readOnly ?? false;
  if (typeof readOnly !== 'boolean') throw new RouterConfigError('backend.readOnly must be true or false');
  for (const k of Object.keys(fb)) if (!['host', 'port', 'tls', 'readOnly'].includes(k)) throw new RouterConfigError(`backend.${k} is unknown; use host, port, tls, readOnly`);
  const fbuf = obj(file.buffer, 'buffer');
  const buffer = { timeoutMs: Number(fbuf.timeoutMs ?? 10_000), maxQueued: Number(fbuf.maxQueued ?? 1000) };
  if (!Number.isInteger(buffer.timeoutMs) || buffer.timeoutMs < 0 || buffer.timeoutMs > 600_000) throw new RouterConfigError('buffer.timeoutMs must be an integer from 0 to 600000 (0 turns buffering off)');
  if (!Number.isInteger(buffer.maxQueued) || buffer.maxQueued < 0 || buffer.maxQueued > 1_000_000) throw new RouterConfigError('buffer.maxQueued must be an integer from 0 to 1000000');
  let sharding: RouterConfig['sharding'] = null;
  if (file.sharding !== undefined) {
    const fs = obj(file.sharding, 'sharding');
    const shards = fs.shards;
    if (!Array.isArray(shards) || shards.length === 0) throw new RouterConfigError('sharding.shards must list the shards: [{"name": "-80", "host": "...", "port": 5432}, ...]');
    const generation = fs.generation === undefined ? 1 : Number(fs.generation);
    sharding = {
      generation,
      shards: shards.map((x: unknown, i: number) => {
        const f = `sharding.shards[${i}]`;
        const o = obj(x, f);
        for (const k of Object.keys(o)) if (!SHARD_KEYS.has(k)) throw new RouterConfigError(`${f}.${k} is unknown; use ${[...SHARD_KEYS].join(', ')}`);
        return { name: str(o.name, `${f}.name`), host: str(o.host, `${f}.host`, '127.0.0.1'), port: port(o.port, `${f}.port`),
          servername: o.servername === undefined ? null : str(o.servername, `${f}.servername`), tls: tlsSection(o.tls, `${f}.tls`) };
      }),
      tables: obj(fs.tables, 'sharding.tables'),
      referenceTables: referenceTables(fs.referenceTables),
    };
  }
  if (readOnly && sharding) throw new RouterConfigError('backend.readOnly is for an unsharded router (one backend); a sharded router routes writes too');
  return {
    sharding,
    listen: { host: str(listenFlag.host ?? fl.host, 'listen.host', '127.0.0.1'), port: port(listenFlag.port ?? fl.port, 'listen.port', 6432) },
    backend: { host: str(backendFlag.host ?? fb.host, 'backend.host', '127.0.0.1'), port: port(backendFlag.port ?? fb.port, 'backend.port', 5432), tls: backendTls,
      ...(readOnly ? { readOnly: true } : {}) },
    buffer,
    auth: { user: str(flags.authUser ?? fa.user, 'auth.user', 'pgop_router'), password, database: str(flags.authDatabase ?? fa.database, 'auth.database', 'postgres') },
    pool: { size },
    tls: certFile && keyFile ? { certFile: str(certFile, 'tls.certFile'), keyFile: str(keyFile, 'tls.keyFile'), require: requireTls } : null,
    metrics: metrics ? { host: str(metrics.host, 'metrics.host', '127.0.0.1'), port: port(metrics.port, 'metrics.port') } : null,
  };
}
