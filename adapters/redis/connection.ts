// One way to turn REDIS_URL (redis://, rediss:// or unix:///path) into an ioredis client or options.
import { Redis, type RedisOptions } from 'ioredis';

export function redisOptions(url: string, extra: RedisOptions = {}): RedisOptions {
  if (url.startsWith('unix://')) return { path: url.slice('unix://'.length), ...extra };
  const u = new URL(url);
  return {
    host: u.hostname, port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.pathname.length > 1 ? { db: Number(u.pathname.slice(1)) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...extra,
  };
}

export const connectRedis = (url: string, extra: RedisOptions = {}) => new Redis(redisOptions(url, extra));
