// Everything the local platform keeps lives under one state directory (default .pgop/).
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../os/atomic-file.js';

export const DEFAULT_STATE_DIR = '.pgop';

export interface PlatformRecord {
  redisUrl: string;
  /** The redis-server we started (absent when REDIS_URL pointed elsewhere). */
  redisPid?: number;
  /** Where postgres-owned files live when the state directory is not reachable by the postgres OS user. */
  dataRoot: string;
  createdAt: string;
}

export class StateDir {
  readonly root: string;
  constructor(dir: string = process.env.PGOP_STATE_DIR ?? DEFAULT_STATE_DIR) { this.root = resolve(dir); }

  get platformFile() { return join(this.root, 'platform.json'); }
  get daemonPidFile() { return join(this.root, 'daemon.pid'); }
  get daemonLog() { return join(this.root, 'daemon.log'); }
  /** One pid file per running operator process (the leader and any standbys). */
  get daemonsDir() { return join(this.root, 'daemons'); }
  get redisDir() { return join(this.root, 'redis'); }
  get redisSocket() { return join(this.root, 'redis.sock'); }
  get redisLog() { return join(this.root, 'redis', 'redis.log'); }

  instanceDir(namespace: string, name: string) { return join(this.root, 'instances', namespace, name); }
  secretsDir(namespace: string, cluster: string) { return join(this.root, 'clusters', namespace, cluster, 'secrets'); }
  /** A fallback data root outside the state dir, stable for this state dir. */
  externalDataRoot() { return join('/var/lib/pgop', createHash('sha256').update(this.root).digest('hex').slice(0, 12)); }

  ensure(): void { mkdirSync(this.root, { recursive: true, mode: 0o755 }); }
  exists(): boolean { return existsSync(this.root); }

  readPlatform(): PlatformRecord | undefined {
    return existsSync(this.platformFile) ? (JSON.parse(readFileSync(this.platformFile, 'utf8')) as PlatformRecord) : undefined;
  }
  writePlatform(p: PlatformRecord): void { writeFileAtomic(this.platformFile, `${JSON.stringify(p, null, 2)}\n`, { mode: 0o644 }); }
}
