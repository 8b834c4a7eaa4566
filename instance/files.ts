// Writes the files postgres reads, owned by the OS user postgres runs as.
import { readFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { OsUser } from '../adapters/os/os-user.js';
import { handOver } from '../adapters/os/os-user.js';
import { writeFileAtomicIfChanged } from '../adapters/os/atomic-file.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { REPLICATION_USER } from '../adapters/instance/spec.js';
import { renderPgopConf, renderHba, pgpassLine, INCLUDE_LINE, PGOP_CONF, renderInstancePgbackrest, pgbackrestConfPath } from './render.js';
import type { BackupRepo } from '../adapters/instance/spec.js';
import { passfile, standbySignal, tlsDir, tlsFiles } from './layout.js';

/** Crash-safe (temp → fsync → rename) and only when the content changed: every config or password file goes here. */
export function writeOwned(path: string, content: string, user: OsUser | null, mode = 0o600): void {
  if (!writeFileAtomicIfChanged(path, content, { mode, owner: user })) handOver(path, user);
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

/** Crash-safe like writeOwned; true when the content changed (postgres reads the old file or the new one). */
export function replaceOwned(path: string, content: string, user: OsUser | null, mode = 0o600): boolean {
  return writeFileAtomicIfChanged(path, content, { mode, owner: user });
}

/**
 * Copies the platform's certificate files where postgres reads them: its own copies, 0600 and owned by the
 * postgres user (postgres refuses a key others can read). True when something changed (a reload serves it).
 */
export function installTls(spec: InstanceSpec, user: OsUser | null): boolean {
  ensureDir(tlsDir(spec), user);
  const to = tlsFiles(spec);
  const read = (what: string, file: string) => {
    if (!existsSync(file)) throw new Error(`the ${what} file ${file} is missing: the platform has not provided the server certificate yet`);
    return readFileSync(file, 'utf8');
  };
  const cert = read('certificate', spec.tls.certFile);
  const key = read('key', spec.tls.keyFile);
  const ca = read('CA', spec.tls.caFile);
  // The agent reloads only after all three are in place; a reload that found a mismatched pair would make
  // postgres keep its previous TLS context (it logs and carries on), so nothing is dropped either way.
  const changed = [replaceOwned(to.ca, ca, user), replaceOwned(to.key, key, user), replaceOwned(to.cert, cert, user)];
  return changed.some(Boolean);
}

/** The platform provides a certificate postgres does not serve yet (a rotation): a reload is due. */
export function tlsOutdated(spec: InstanceSpec): boolean {
  const to = tlsFiles(spec);
  const same = (from: string, installed: string) => !existsSync(from) || (existsSync(installed) && readFileSync(from, 'utf8') === readFileSync(installed, 'utf8'));
  return !(same(spec.tls.certFile, to.cert) && same(spec.tls.keyFile, to.key) && same(spec.tls.caFile, to.ca));
}

export const isStandby = (spec: InstanceSpec) => existsSync(standbySignal(spec));

/** Renders pgop.conf and pg_hba.conf from the spec; the data directory decides whether this is a standby. */
export function writeConfig(spec: InstanceSpec, user: OsUser | null, standby = isStandby(spec), syncNames = ''): void {
  ensureDir(spec.runDir, user);
  installTls(spec, user);
  if (standby) writePassfile(spec, user);
  writeOwned(join(spec.dataDir, PGOP_CONF), renderPgopConf(spec, { standby, passfile: passfile(spec), syncNames }), user);
  writeOwned(join(spec.dataDir, 'pg_hba.conf'), renderHba(spec), user);
  writePgbackrestConf(spec, user);
  const main = join(spec.dataDir, 'postgresql.conf');
  const text = existsSync(main) ? readFileSync(main, 'utf8') : '';
  if (!text.split('\n').includes(INCLUDE_LINE)) writeOwned(main, `${text.trimEnd()}\n${INCLUDE_LINE}\n`, user);
  if (standby) writeOwned(standbySignal(spec), '', user);
}

/** S3 keys from their mounted files, for the 0600 pgBackRest file only. */
export const repoCredentials = (repo: BackupRepo) => repo.credentialFiles
  ? { accessKeyId: readSecret(repo.credentialFiles.accessKeyId), secretAccessKey: readSecret(repo.credentialFiles.secretAccessKey) }
  : undefined;

/**
 * The repository's CA as postgres's own copy in the run directory: archive_command runs as postgres, and the
 * platform's file (a mounted Secret, or the local state tree) may sit where only the agent can read.
 */
export function installRepoCa(spec: InstanceSpec, repo: BackupRepo, user: OsUser | null, name: string): BackupRepo {
  if (!repo.caFile) return repo;
  if (!existsSync(repo.caFile)) throw new Error(`the repository CA file ${repo.caFile} is missing: provide the caSecret's ca.crt`);
  ensureDir(spec.runDir, user);
  const copy = join(spec.runDir, name);
  writeOwned(copy, readFileSync(repo.caFile, 'utf8'), user, 0o644);
  return { ...repo, caFile: copy };
}

/** Written before postgres can run archive_command; 0600 because it may hold S3 keys. */
export function writePgbackrestConf(spec: InstanceSpec, user: OsUser | null): void {
  if (!spec.backup) return;
  const backup = installRepoCa(spec, spec.backup, user, 'repo-ca.crt');
  const text = renderInstancePgbackrest({ ...spec, backup }, repoCredentials(backup));
  if (text) writeOwned(pgbackrestConfPath(spec), text, user);
}
