// Pure: the user Secrets an S3 repository names (`credentialsSecret` with accessKeyId and secretAccessKey, an
// optional `caSecret` with ca.crt), which the instance Role may read by name and the agent copies into its run
// directory. The cluster's own repository is needed by every Pod (archiving, backups, rehearsals); the recovery
// source's only by the Pod that bootstraps from it, so a restored cluster does not depend on the source's Secrets.
import type { PostgresClusterSpec } from '../../../crds/postgrescluster.js';
import type { RepositorySpec } from '../../../crds/backup-repository.js';
import { join } from 'node:path';

export interface RepositorySecretRef {
  /** The manifest field naming the Secret, for messages. */
  field: string;
  secret: string;
  keys: readonly string[];
}

export const S3_CREDENTIAL_KEYS = ['accessKeyId', 'secretAccessKey'] as const;
export const S3_CA_KEY = 'ca.crt';

/** A Secret name as the CRD admits it (crds/schema-kit.ts Name); checked again here because it becomes a file path. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export class RepositorySecretError extends Error {}

function refsOf(repo: RepositorySpec | undefined, at: string): RepositorySecretRef[] {
  const s3 = repo?.s3;
  if (!s3) return [];
  const out: RepositorySecretRef[] = [{ field: `${at}.repository.s3.credentialsSecret`, secret: s3.credentialsSecret, keys: S3_CREDENTIAL_KEYS }];
  if (s3.caSecret) out.push({ field: `${at}.repository.s3.caSecret`, secret: s3.caSecret, keys: [S3_CA_KEY] });
  for (const r of out) if (!SECRET_NAME.test(r.secret)) throw new RepositorySecretError(`${r.field} ${JSON.stringify(r.secret)} is not a Secret name`);
  return out;
}

/** The Secrets a Pod needs: the recovery source's only when it bootstraps (`initdb`), like the posix mounts. */
export function repositorySecrets(spec: PostgresClusterSpec, bootstrap: 'initdb' | 'clone' | 'any'): RepositorySecretRef[] {
  return [
    ...refsOf(spec.backup?.repository, 'spec.backup'),
    ...(bootstrap !== 'clone' ? refsOf(spec.bootstrap?.recovery?.repository, 'spec.bootstrap.recovery') : []),
  ];
}

/** Every Secret name the instance Role must allow `get` on (both repositories: any instance may be the first). */
export const repositorySecretNames = (spec: PostgresClusterSpec) => [...new Set(repositorySecrets(spec, 'any').map((r) => r.secret))];

/** Where the agent keeps its copy of one key: <dir>/<secret>/<key> (both names checked above). */
export const repositorySecretFile = (dir: string, secret: string, key: string) => join(dir, secret, key);

/** The agent's files for a repository, from the Secret names alone (the agent wrote them before building the spec). */
export function repositoryFiles(dir: string, repo: RepositorySpec): { credentialFiles?: { accessKeyId: string; secretAccessKey: string }; caFile?: string } {
  if (!repo.s3) return {};
  const f = (secret: string, key: string) => repositorySecretFile(dir, secret, key);
  return {
    credentialFiles: { accessKeyId: f(repo.s3.credentialsSecret, 'accessKeyId'), secretAccessKey: f(repo.s3.credentialsSecret, 'secretAccessKey') },
    ...(repo.s3.caSecret ? { caFile: f(repo.s3.caSecret, S3_CA_KEY) } : {}),
  };
}
