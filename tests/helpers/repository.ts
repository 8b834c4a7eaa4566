// A posix backup repository for one test file: a fresh directory the postgres OS user owns, its ancestors
// searchable, as pgBackRest running as that user needs it.
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresUser } from '../../adapters/os/os-user.js';

export function postgresRepository(prefix: string): string {
  const repo = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(repo, 0o755);
  const pgUser = postgresUser();
  if (pgUser) chownSync(repo, pgUser.uid, pgUser.gid);
  return repo;
}

/** Removes it after the file's tests, unless PGOP_TEST_KEEP_STATE=1 keeps everything for a look. */
export function removeRepository(repo: string): void {
  if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(repo, { recursive: true, force: true });
}
