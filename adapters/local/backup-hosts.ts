// The local platform's view for backups: instance specs from the pods' spec files, and user Secrets (S3 keys, a
// CA) as files under <state>/secrets/<namespace>/<secret>/<key> — the local stand-in for mounted Secret keys.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceSpec, BackupRepo } from '../instance/spec.js';
import type { RepositorySpec } from '../../crds/backup-repository.js';
import type { OsUser } from '../os/os-user.js';
import type { BackupHosts } from '../backup/backup-step.js';
import type { LocalPods } from './pods.js';

/** Secret names are DNS labels (CRD pattern), keys are fixed here: the path cannot leave the secrets tree. */
export const localSecretFile = (stateRoot: string, namespace: string, secret: string, key: string) => join(stateRoot, 'secrets', namespace, secret, key);

export function localRepoFiles(stateRoot: string, namespace: string, repo: RepositorySpec): Pick<BackupRepo, 'credentialFiles' | 'caFile'> {
  if (!repo.s3) return {};
  const f = (secret: string, key: string) => localSecretFile(stateRoot, namespace, secret, key);
  return {
    credentialFiles: { accessKeyId: f(repo.s3.credentialsSecret, 'accessKeyId'), secretAccessKey: f(repo.s3.credentialsSecret, 'secretAccessKey') },
    ...(repo.s3.caSecret ? { caFile: f(repo.s3.caSecret, 'ca.crt') } : {}),
  };
}

export class LocalBackupHosts implements BackupHosts {
  constructor(private readonly pods: LocalPods, private readonly stateRoot: string, readonly user: OsUser | null) {}

  async instances(namespace: string, cluster: string): Promise<InstanceSpec[]> {
    const out: InstanceSpec[] = [];
    for (const pod of await this.pods.list({ namespace, cluster })) {
      const file = this.pods.specFile(pod);
      if (!pod.removing && existsSync(file)) out.push(JSON.parse(readFileSync(file, 'utf8')) as InstanceSpec);
    }
    return out;
  }

  async repoAccess(namespace: string, repo: RepositorySpec) { return localRepoAccess(this.stateRoot, namespace, repo); }
}

/** The repository's S3 keys (read from the secret files) and CA file. */
export function localRepoAccess(stateRoot: string, namespace: string, repo: RepositorySpec) {
  const files = localRepoFiles(stateRoot, namespace, repo);
  const read = (p: string) => {
    if (!existsSync(p)) throw new Error(`secret file ${p} is missing: write the key there (the local stand-in for a Secret)`);
    return readFileSync(p, 'utf8').trim();
  };
  return {
    ...(files.credentialFiles ? { credentials: { accessKeyId: read(files.credentialFiles.accessKeyId), secretAccessKey: read(files.credentialFiles.secretAccessKey) } } : {}),
    ...(files.caFile ? { caFile: files.caFile } : {}),
  };
}
