// PostgreSQL refuses to run as root. When pgop runs as root (containers, CI), postgres and its tools run as an
// unprivileged OS user, and the files they need are handed over to that user.
import { readFileSync, chownSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export interface OsUser { name: string; uid: number; gid: number }

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export function lookupUser(name: string): OsUser {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[0] === name);
  if (!line) throw new Error(`OS user "${name}" does not exist; install PostgreSQL (it creates it) or run pgop as a non-root user`);
  const [, , uid, gid] = line.split(':');
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** The user postgres runs as: null means "whoever we are" (not root). */
export function postgresUser(): OsUser | null {
  return isRoot() ? lookupUser(process.env.PGOP_POSTGRES_USER ?? 'postgres') : null;
}

export function handOver(path: string, user: OsUser | null): void {
  if (user && existsSync(path)) chownSync(path, user.uid, user.gid);
}

/** Whether `user` can reach and write `dir` (every ancestor must be searchable). */
/** The user may run `file` (an image's postgres on the local platform must be reachable by the postgres user). */
export function canExecute(file: string, user: OsUser | null): boolean {
  if (!user) return true;
  return spawnSync('test', ['-x', file], { uid: user.uid, gid: user.gid }).status === 0;
}

export function canAccess(dir: string, user: OsUser | null): boolean {
  if (!user) return true;
  const r = spawnSync('test', ['-w', dir, '-a', '-x', dir], { uid: user.uid, gid: user.gid });
  return r.status === 0;
}
