// The one door for files whose loss or half-write would lose data or wedge an instance (specs, passwords, pgpass,
// timeline histories, the "bootstrapped" marker). A crash at any point leaves either the old content or the new
// one, never a mix: write a temp file beside the target, fsync it, rename it over the target, fsync the directory
// (the rename itself is only durable once the directory entry is).
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync, chownSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600: most of these files hold or protect secrets). */
  mode?: number;
  /** Owner of the new file, set on the temp file before it becomes visible (postgres must read what root writes). */
  owner?: { uid: number; gid: number } | null;
}

/** Temp files are named `pgsql_tmp.<target>.tmp-<random>`, beside the target (same filesystem, so rename is atomic). */
export const TEMP_MARK = '.tmp-';
/**
 * PostgreSQL's own temp-file prefix: pg_basebackup, pg_checksums, pg_rewind and pgBackRest skip such names. Config files
 * are written inside data directories, and a base backup that met a temp file its walsender may not read (written
 * 0600 by another user, or gone by the time it is opened) failed the clone.
 */
export const TEMP_PREFIX = 'pgsql_tmp.';
const tempFor = (path: string) => join(dirname(path), `${TEMP_PREFIX}${basename(path)}${TEMP_MARK}${randomBytes(6).toString('hex')}`);

/** fsync a directory so a rename or unlink inside it survives a power loss. */
export function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try { fsyncSync(fd); } finally { closeSync(fd); }
}

/** A temp file this old belongs to a writer that crashed (a live writer finishes in well under a second). */
const STALE_TEMP_MS = 60_000;

function removeStaleTemps(path: string, now = Date.now()): void {
  // The second name is how older versions named their temp files.
  const prefixes = [`${TEMP_PREFIX}${basename(path)}${TEMP_MARK}`, `.${basename(path)}${TEMP_MARK}`];
  let names: string[];
  try { names = readdirSync(dirname(path)); } catch { return; }
  for (const n of names) {
    if (!prefixes.some((x) => n.startsWith(x))) continue;
    const p = join(dirname(path), n);
    try { if (now - statSync(p).mtimeMs > STALE_TEMP_MS) rmSync(p, { force: true }); } catch { /* raced with its writer */ }
  }
}

/** A complete, synced temp file beside `path`; the caller moves it into place (or removes it on failure). */
function syncedTemp(path: string, content: string | Buffer, o: AtomicWriteOptions): string {
  removeStaleTemps(path);
  const tmp = tempFor(path);
  // O_EXCL: never follow or reuse something already lying at the temp name.
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, o.mode ?? 0o600);
  try {
    try {
      const data = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (o.owner) chownSync(tmp, o.owner.uid, o.owner.gid);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return tmp;
}

export function writeFileAtomic(path: string, content: string | Buffer, o: AtomicWriteOptions = {}): void {
  const tmp = syncedTemp(path, content, o);
  try { renameSync(tmp, path); } catch (e) { rmSync(tmp, { force: true }); throw e; }
  syncDir(dirname(path));
}

/**
 * Creates `path` only if nothing is there yet, atomically (link() refuses an existing name): two processes
 * generating the same secret at once end up with one value, the first. True when this call created it.
 */
export function createFileAtomic(path: string, content: string | Buffer, o: AtomicWriteOptions = {}): boolean {
  const tmp = syncedTemp(path, content, o);
  let created = true;
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') { rmSync(tmp, { force: true }); throw e; }
    created = false;
  }
  rmSync(tmp, { force: true });
  syncDir(dirname(path));
  return created;
}

/** Writes only when the content differs (a rewrite is a chance to lose the file); true when it wrote. */
export function writeFileAtomicIfChanged(path: string, content: string, o: AtomicWriteOptions = {}): boolean {
  let current: string | undefined;
  try { current = readFileSync(path, 'utf8'); } catch { current = undefined; }
  if (current === content) return false;
  writeFileAtomic(path, content, o);
  return true;
}

/** Removes a file durably (a marker whose absence must survive a crash). */
export function removeFileDurably(path: string): void {
  rmSync(path, { force: true });
  syncDir(dirname(path));
}
