// Pure: which posix repositories an instance Pod mounts. A posix repository on Kubernetes is a
// PersistentVolumeClaim the user provides (`posix.volumeClaim`), mounted at `posix.path`: the cluster's own
// repository in every Pod (the primary archives, any instance may back up), the recovery source's only in the Pod
// that bootstraps from it, so the new cluster does not depend on the source's volume once it is restored. Each
// mount also sets an environment variable naming the path as the agent sees it — the path itself in a real Pod;
// the test kubelet, which has no mount namespace, rewrites it to the host directory behind the claim.
import type { PostgresClusterSpec } from '../../../crds/postgrescluster.js';
import { DATA_MOUNT, RUN_MOUNT } from './names.js';
import type { BackupRepo, InstanceSpec } from '../../instance/spec.js';

export interface RepositoryMount { role: 'backup' | 'recovery'; claim: string; path: string; volume: string; env: string }

export const REPO_PATH_ENV = { backup: 'PGOP_REPO_BACKUP_PATH', recovery: 'PGOP_REPO_RECOVERY_PATH' } as const;

/** Directories the Pod already mounts or needs as they are: a repository mounted over them would hide them. */
const RESERVED = [DATA_MOUNT, RUN_MOUNT, '/tmp', '/run/postgresql', '/usr', '/etc', '/bin', '/lib', '/proc', '/dev', '/sys'];

export class RepositoryMountError extends Error {}

const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

export function repositoryMounts(spec: PostgresClusterSpec, bootstrap: 'initdb' | 'clone'): RepositoryMount[] {
  const out: RepositoryMount[] = [];
  const add = (role: RepositoryMount['role'], posix: { path: string; volumeClaim?: string | undefined } | undefined) => {
    if (!posix) return;
    // A restricted Pod has a read-only root and no host paths: a posix repository exists only on a volume.
    if (!posix.volumeClaim) throw new RepositoryMountError(`${role === 'backup' ? 'spec.backup' : 'spec.bootstrap.recovery'}.repository.posix.volumeClaim is required on Kubernetes: name a PersistentVolumeClaim (ReadWriteMany) holding the repository`);
    const path = posix.path.replace(/\/+$/, '') || '/';
    const bad = RESERVED.find((r) => overlaps(path, r));
    if (path === '/' || bad) throw new RepositoryMountError(`posix repository path ${path} would be mounted over ${bad ?? '/'}: choose another path (for example /var/lib/pgbackrest)`);
    const same = out.find((m) => m.path === path);
    if (same && same.claim !== posix.volumeClaim) throw new RepositoryMountError(`two repositories at ${path} on different claims (${same.claim}, ${posix.volumeClaim}): give them different paths`);
    if (same) { out.push({ ...same, role, env: REPO_PATH_ENV[role] }); return; }
    const other = out.find((m) => overlaps(m.path, path));
    if (other) throw new RepositoryMountError(`repository paths ${other.path} and ${path} are nested: give them separate paths`);
    out.push({ role, claim: posix.volumeClaim, path, volume: `repo-${role}`, env: REPO_PATH_ENV[role] });
  };
  add('backup', spec.backup?.repository.posix);
  if (bootstrap === 'initdb') add('recovery', spec.bootstrap?.recovery?.repository.posix);
  return out;
}

/** The volumes to declare: one per distinct path (a recovery source on the cluster's own claim and path shares it). */
export const distinctVolumes = (mounts: RepositoryMount[]) => mounts.filter((m, i) => mounts.findIndex((x) => x.path === m.path) === i);

/**
 * A posix repository on a volume is used where the Pod mounted it (the same path in a real Pod, the host directory
 * behind the claim under the test kubelet). Without the mount environment the paths stay as written (ADR 0030).
 */
export function withMountedRepositories(spec: InstanceSpec, paths: { backup?: string; recovery?: string }): InstanceSpec {
  const at = (repo: BackupRepo, path: string | undefined): BackupRepo => (repo.repository.posix?.volumeClaim && path
    ? { ...repo, repository: { posix: { ...repo.repository.posix, path } } } : repo);
  const bootstrap = spec.bootstrap.mode === 'recovery'
    ? { ...spec.bootstrap, recovery: { ...spec.bootstrap.recovery, source: at(spec.bootstrap.recovery.source, paths.recovery) } }
    : spec.bootstrap;
  return { ...spec, bootstrap, ...(spec.backup ? { backup: at(spec.backup, paths.backup) } : {}) };
}
