// Reading a repository: the backups of one stanza as `pgbackrest info --output=json` lists them. Used by
// `pgop local backups`; runs with a config holding only the repository (no PostgreSQL host needed).
import { mkdtempSync, writeFileSync, chownSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OsUser } from '../os/os-user.js';
import { runCommand } from '../os/run-command.js';
import type { RepositorySpec } from '../../crds/backup-repository.js';
import { withReadableCa } from './repo-ca.js';
import { PGBACKREST_BIN, renderPgbackrestConf, type RepoAccess } from './pgbackrest-config.js';

export interface RepositoryBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  startedAt: string;
  stoppedAt: string;
  sizeBytes: number;
  repositorySizeBytes: number;
  startLsn: string;
  stopLsn: string;
  walStart: string;
  walEnd: string;
}

export interface StanzaInfo { backups: RepositoryBackup[]; walMin: string | null; walMax: string | null; status: string }

interface RawInfo {
  backup?: { label: string; type: RepositoryBackup['type']; timestamp: { start: number; stop: number }; info: { size: number; repository: { size: number } }; lsn: { start: string; stop: string }; archive: { start: string | null; stop: string | null } }[];
  archive?: { min: string | null; max: string | null }[];
  status?: { message: string };
}

export function parseInfo(json: string): StanzaInfo {
  const raw = (JSON.parse(json) as RawInfo[])[0] ?? {};
  const archives = raw.archive ?? [];
  return {
    backups: (raw.backup ?? []).map((b) => ({
      label: b.label, type: b.type,
      startedAt: new Date(b.timestamp.start * 1000).toISOString(), stoppedAt: new Date(b.timestamp.stop * 1000).toISOString(),
      sizeBytes: b.info.size, repositorySizeBytes: b.info.repository.size, startLsn: b.lsn.start, stopLsn: b.lsn.stop,
      walStart: b.archive.start ?? '', walEnd: b.archive.stop ?? '',
    })),
    walMin: archives[0]?.min ?? null,
    walMax: archives.at(-1)?.max ?? null,
    status: raw.status?.message ?? 'unknown',
  };
}

/** Runs a repository-only pgBackRest command with a throwaway 0600 config (it may hold S3 keys). */
export async function withRepositoryConfig<T>(stanza: string, access: RepoAccess & { repository: RepositorySpec }, user: OsUser | null,
  fn: (run: (args: string[]) => Promise<string>) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-repo-'));
  try {
    if (user) chownSync(dir, user.uid, user.gid);
    const config = join(dir, 'pgbackrest.conf');
    writeFileSync(config, renderPgbackrestConf({ stanza, ...withReadableCa(access, dir, user), pg: [], lockPath: join(dir, 'lock') }), { mode: 0o600 });
    if (user) chownSync(config, user.uid, user.gid);
    return await fn((args) => runCommand(PGBACKREST_BIN, [`--config=${config}`, `--stanza=${stanza}`, ...args], { user }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const stanzaInfo = (stanza: string, access: RepoAccess & { repository: RepositorySpec }, user: OsUser | null) =>
  withRepositoryConfig(stanza, access, user, async (run) => parseInfo(await run(['info', '--output=json'])));
