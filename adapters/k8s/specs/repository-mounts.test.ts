import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryMounts, withMountedRepositories } from './repository-mounts.js';
import { instancePod } from './pod.js';
import { buildInstanceSpec } from '../../instance-spec.js';
import type { PostgresClusterSpec } from '../../../crds/postgrescluster.js';

const posix = (path: string, volumeClaim?: string) => ({ posix: { path, ...(volumeClaim ? { volumeClaim } : {}) } });
const base = { instances: 2, primaryUpdateStrategy: 'unsupervised' } as PostgresClusterSpec;
const restoring = (own: ReturnType<typeof posix>, source: ReturnType<typeof posix>): PostgresClusterSpec => ({
  ...base, backup: { repository: own }, bootstrap: { recovery: { repository: source, sourceCluster: { namespace: 'default', name: 'old' } } },
} as PostgresClusterSpec);

test('the own repository is mounted in every Pod, the recovery source only in the bootstrapping one', () => {
  const spec = restoring(posix('/var/lib/pgbackrest', 'mine'), posix('/var/lib/source', 'theirs'));
  assert.deepEqual(repositoryMounts(spec, 'initdb').map((m) => [m.role, m.claim, m.path, m.env]), [
    ['backup', 'mine', '/var/lib/pgbackrest', 'PGOP_REPO_BACKUP_PATH'], ['recovery', 'theirs', '/var/lib/source', 'PGOP_REPO_RECOVERY_PATH'],
  ]);
  assert.deepEqual(repositoryMounts(spec, 'clone').map((m) => m.role), ['backup']);
  const pod = instancePod({ cluster: 'c', namespace: 'default', instance: 'c-1', serial: 1, bootstrap: 'initdb', image: 'i', storageSize: '1Gi',
    owner: { apiVersion: 'v1', kind: 'X', name: 'c', uid: 'u' }, repositories: repositoryMounts(spec, 'initdb') });
  assert.deepEqual(pod.spec.volumes.filter((v) => v.name.startsWith('repo-')).map((v) => [v.name, v.persistentVolumeClaim?.claimName]), [['repo-backup', 'mine'], ['repo-recovery', 'theirs']]);
  assert.deepEqual(pod.spec.containers[0]?.volumeMounts.filter((m) => m.name.startsWith('repo-')).map((m) => m.mountPath), ['/var/lib/pgbackrest', '/var/lib/source']);
});

test('the same claim at the same path is one volume; conflicts and reserved paths are refused', () => {
  const shared = repositoryMounts(restoring(posix('/var/lib/pgbackrest', 'b'), posix('/var/lib/pgbackrest', 'b')), 'initdb');
  const pod = instancePod({ cluster: 'c', namespace: 'default', instance: 'c-1', serial: 1, bootstrap: 'initdb', image: 'i', storageSize: '1Gi',
    owner: { apiVersion: 'v1', kind: 'X', name: 'c', uid: 'u' }, repositories: shared });
  assert.equal(pod.spec.volumes.filter((v) => v.name.startsWith('repo-')).length, 1);
  assert.deepEqual(pod.spec.containers[0]?.env.filter((e) => e.name.startsWith('PGOP_REPO_')).map((e) => e.name), ['PGOP_REPO_BACKUP_PATH', 'PGOP_REPO_RECOVERY_PATH']);
  assert.throws(() => repositoryMounts(restoring(posix('/r', 'a'), posix('/r', 'b')), 'initdb'), /different claims/);
  assert.throws(() => repositoryMounts(restoring(posix('/r', 'a'), posix('/r/x', 'b')), 'initdb'), /nested/);
  assert.throws(() => repositoryMounts({ ...base, backup: { repository: posix('/var/lib/postgresql/data/repo', 'a') } } as PostgresClusterSpec, 'clone'), /mounted over \/var\/lib\/postgresql\/data/);
  assert.throws(() => repositoryMounts({ ...base, backup: { repository: posix('/tmp', 'a') } } as PostgresClusterSpec, 'clone'), /mounted over \/tmp/);
  assert.throws(() => repositoryMounts({ ...base, backup: { repository: posix('/var/lib/pgbackrest') } } as PostgresClusterSpec, 'clone'), /volumeClaim is required on Kubernetes/);
  assert.deepEqual(repositoryMounts(base, 'initdb'), []);
});

test('the agent uses a mounted repository where its Pod sees it, and leaves the stanza and the rest alone', () => {
  const spec = restoring(posix('/var/lib/pgbackrest', 'mine'), posix('/var/lib/source', 'theirs'));
  const built = buildInstanceSpec(spec, {
    namespace: 'default', cluster: 'new', name: 'new-1', serial: 1, bootstrap: 'initdb', port: 5432, httpPort: 8000, home: '/h', pgBinDir: '/b',
    secrets: { superuser: '/s', replication: '/s', app: '/s', agentToken: '/s' }, runAsUser: null, primary: null, members: ['new-1'], leaseUrl: null, faultsFile: null,
    tls: { certFile: '/c', keyFile: '/k', caFile: '/ca', serverName: null },
  });
  const seen = withMountedRepositories(built, { backup: '/host/pvc/mine', recovery: '/host/pvc/theirs' });
  assert.equal(seen.backup?.repository.posix?.path, '/host/pvc/mine');
  assert.equal(seen.backup?.stanza, 'default_new');
  assert.ok(seen.bootstrap.mode === 'recovery');
  assert.equal(seen.bootstrap.recovery.source.repository.posix?.path, '/host/pvc/theirs');
  assert.equal(seen.bootstrap.recovery.source.stanza, 'default_old');
  assert.deepEqual(withMountedRepositories(built, {}), built, 'no mount environment: the paths as written');
});
