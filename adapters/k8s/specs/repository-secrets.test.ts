import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repositoryFiles, repositorySecretNames, repositorySecrets } from './repository-secrets.js';
import { instanceIdentity } from './cluster-objects.js';
import type { PostgresClusterSpec } from '../../../crds/postgrescluster.js';
import type { RepositorySpec } from '../../../crds/backup-repository.js';

const s3 = (credentialsSecret: string, caSecret?: string): RepositorySpec => ({
  s3: { endpoint: 'localhost:9000', bucket: 'b', region: 'us-east-1', path: '/p', uriStyle: 'path', credentialsSecret, ...(caSecret ? { caSecret } : {}), verifyTLS: true },
} as RepositorySpec);
const spec = (backup?: RepositorySpec, recovery?: RepositorySpec): PostgresClusterSpec => ({
  instances: 1, primaryUpdateStrategy: 'unsupervised',
  ...(backup ? { backup: { repository: backup } } : {}),
  ...(recovery ? { bootstrap: { recovery: { repository: recovery, sourceCluster: { namespace: 'db', name: 'old' } } } } : {}),
} as PostgresClusterSpec);
const owner = { apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', name: 'demo', uid: 'u' };

test('an S3 repository names its credentials Secret (both keys) and its CA Secret; posix names none', () => {
  assert.deepEqual(repositorySecrets(spec({ posix: { path: '/r', volumeClaim: 'c' } } as RepositorySpec), 'initdb'), []);
  assert.deepEqual(repositorySecrets(spec(s3('creds', 'ca')), 'clone').map((r) => [r.field, r.secret, [...r.keys]]), [
    ['spec.backup.repository.s3.credentialsSecret', 'creds', ['accessKeyId', 'secretAccessKey']],
    ['spec.backup.repository.s3.caSecret', 'ca', ['ca.crt']],
  ]);
});

test('the recovery source\'s Secrets only for the Pod that restores; the Role allows both, once each', () => {
  const s = spec(s3('creds', 'ca'), s3('old-creds', 'ca'));
  assert.deepEqual(repositorySecrets(s, 'clone').map((r) => r.secret), ['creds', 'ca']);
  assert.deepEqual(repositorySecrets(s, 'initdb').map((r) => r.secret), ['creds', 'ca', 'old-creds', 'ca']);
  assert.deepEqual(repositorySecretNames(s), ['creds', 'ca', 'old-creds']);
  const role = instanceIdentity('demo', 'db', owner, undefined, repositorySecretNames(s))[1] as { rules: { resources: string[]; resourceNames?: string[]; verbs: string[] }[] };
  const secrets = role.rules.filter((r) => r.resources.includes('secrets'));
  assert.equal(secrets.length, 1);
  assert.deepEqual(secrets[0]?.verbs, ['get']);
  for (const n of ['creds', 'ca', 'old-creds', 'demo-superuser']) assert.ok(secrets[0]?.resourceNames?.includes(n), n);
  assert.ok(!secrets[0]?.resourceNames?.includes('demo-ca-key'));
});

test('the agent\'s files sit under its directory by Secret and key; a name that is no Secret name is refused', () => {
  assert.deepEqual(repositoryFiles('/run/secrets/repository', s3('creds', 'ca')), {
    credentialFiles: { accessKeyId: '/run/secrets/repository/creds/accessKeyId', secretAccessKey: '/run/secrets/repository/creds/secretAccessKey' },
    caFile: '/run/secrets/repository/ca/ca.crt',
  });
  assert.deepEqual(repositoryFiles('/d', { posix: { path: '/r' } } as RepositorySpec), {});
  for (const bad of ['../x', 'a/b', 'A', '']) assert.throws(() => repositorySecrets(spec(s3(bad)), 'clone'), /credentialsSecret .* is not a Secret name/, bad);
});
