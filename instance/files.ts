// Writes the files postgres reads, owned by the OS user postgres runs as.
import { writeFileSync, readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OsUser } from '../adapters/os/os-user.js';
import { handOver } from '../adapters/os/os-user.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { REPLICATION_USER } from '../adapters/instance/spec.js';
import { renderPgopConf, renderHba, pgpassLine, INCLUDE_LINE, PGOP_CONF } from './render.js';
import { passfile, standbySignal } from './layout.js';

export function writeOwned(path: string, content: string, user: OsUser | null, mode = 0o600): void {
  writeFileSync(path, content, { mode });
  handOver(path, user);
}

export function ensureDir(path: string, user: OsUser | null, mode = 0o700): void {
  mkdirSync(path, { recursive: true, mode });
  handOver(path, user);
}

export const readSecret = (path: string) => readFileSync(path, 'utf8').trim();

export function writePassfile(spec: InstanceSpec, user: OsUser | null): void {
  ensureDir(spec.runDir, user);
  writeOwned(passfile(spec), pgpassLine('*', '*', REPLICATION_USER, readSecret(spec.secrets.replication)), user);
}

export const isStandby = (spec: InstanceSpec) => existsSync(standbySignal(spec));

/** Renders pgop.conf and pg_hba.conf from the spec; the data directory decides whether this is a standby. */
export function writeConfig(spec: InstanceSpec, user: OsUser | null, standby = isStandby(spec), syncNames = ''): void {
  ensureDir(spec.runDir, user);
  if (standby) writePassfile(spec, user);
  writeOwned(join(spec.dataDir, PGOP_CONF), renderPgopConf(spec, { standby, passfile: passfile(spec), syncNames }), user);
  writeOwned(join(spec.dataDir, 'pg_hba.conf'), renderHba(spec), user);
  const main = join(spec.dataDir, 'postgresql.conf');
  const text = existsSync(main) ? readFileSync(main, 'utf8') : '';
  if (!text.split('\n').includes(INCLUDE_LINE)) writeOwned(main, `${text.trimEnd()}\n${INCLUDE_LINE}\n`, user);
  if (standby) writeOwned(standbySignal(spec), '', user);
}
