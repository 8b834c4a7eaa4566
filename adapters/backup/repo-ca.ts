// pgBackRest runs as the postgres OS user, but the repository CA comes from where the platform keeps Secrets (a
// mounted Secret, or the local state tree), which may be readable by the operator only. Each config therefore names
// a copy in a directory its reader owns.
import { copyFileSync, chownSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OsUser } from '../os/os-user.js';

export function withReadableCa<T extends { caFile?: string | undefined }>(access: T, dir: string, user: OsUser | null, name = 'repo-ca.crt'): T {
  if (!access.caFile) return access;
  if (!existsSync(access.caFile)) throw new Error(`the repository CA file ${access.caFile} is missing: the caSecret needs a ca.crt key`);
  const copy = join(dir, name);
  copyFileSync(access.caFile, copy);
  chmodSync(copy, 0o644);
  if (user) chownSync(copy, user.uid, user.gid);
  return { ...access, caFile: copy };
}
