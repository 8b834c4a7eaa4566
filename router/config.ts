// Router configuration: a small JSON file and/or CLI flags, checked at the door with errors naming the field.
// The auth-query password never travels in argv: it comes from the file, a password file, or the environment.
import { readFileSync } from 'node:fs';

export interface RouterConfig {
  listen: { host: string; port: number };
  backend: { host: string; port: number };
  /** The privileged connection that reads role verifiers from pg_authid. */
  auth: { user: string; password: string; database: string };
  pool: { size: number };
  tls: { certFile: string; keyFile: string; require: boolean } | null;
  metrics: { host: string; port: number } | null;
  /** Sharded mode: shards named after their key range ("-80", "80-"), and which tables are sharded by what. */
  sharding: { generation: number; shards: { name: string; host: string; port: number }[]; tables: Record<string, unknown> } | null;
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
}

export function loadRouterConfig(flags: RouterFlags, env: NodeJS.ProcessEnv = process.env): RouterConfig {
  let file: Json = {};
  if (flags.config) {
    try { file = obj(JSON.parse(readFileSync(flags.config, 'utf8')), flags.config); } catch (e) {
      throw new RouterConfigError(`--config ${flags.config}: ${(e as Error).message}`);
    }
  }
  const known = new Set(['listen', 'backend', 'auth', 'pool', 'tls', 'metrics', 'sharding']);
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
  let sharding: RouterConfig['sharding'] = null;
  if (file.sharding !== undefined) {
    const fs = obj(file.sharding, 'sharding');
    const shards = fs.shards;
    if (!Array.isArray(shards) || shards.length === 0) throw new RouterConfigError('sharding.shards must list the shards: [{"name": "-80", "host": "...", "port": 5432}, ...]');
    const generation = fs.generation === undefined ? 1 : Number(fs.generation);
    sharding = {
      generation,
      shards: shards.map((x: unknown, i: number) => {
        const o = obj(x, `sharding.shards[${i}]`);
        return { name: str(o.name, `sharding.shards[${i}].name`), host: str(o.host, `sharding.shards[${i}].host`, '127.0.0.1'), port: port(o.port, `sharding.shards[${i}].port`) };
      }),
      tables: obj(fs.tables, 'sharding.tables'),
    };
  }
  return {
    sharding,
    listen: { host: str(listenFlag.host ?? fl.host, 'listen.host', '127.0.0.1'), port: port(listenFlag.port ?? fl.port, 'listen.port', 6432) },
    backend: { host: str(backendFlag.host ?? fb.host, 'backend.host', '127.0.0.1'), port: port(backendFlag.port ?? fb.port, 'backend.port', 5432) },
    auth: { user: str(flags.authUser ?? fa.user, 'auth.user', 'postgres'), password, database: str(flags.authDatabase ?? fa.database, 'auth.database', 'postgres') },
    pool: { size },
    tls: certFile && keyFile ? { certFile: str(certFile, 'tls.certFile'), keyFile: str(keyFile, 'tls.keyFile'), require: requireTls } : null,
    metrics: metrics ? { host: str(metrics.host, 'metrics.host', '127.0.0.1'), port: port(metrics.port, 'metrics.port') } : null,
  };
}
