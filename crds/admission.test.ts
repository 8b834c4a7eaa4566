import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit, AdmissionError } from './admission.js';
import type { PostgresClusterSpec } from './postgrescluster.js';

const cluster = (spec: unknown, name = 'demo') => ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name }, spec });

function refused(obj: unknown, old?: ReturnType<typeof admit>): AdmissionError {
  try { admit(obj, old); } catch (e) { if (e instanceof AdmissionError) return e; throw e; }
  assert.fail('expected the object to be refused');
}

test('defaults are applied like the apiserver does', () => {
  const r = admit(cluster({ instances: 3, bootstrap: { initdb: {} } }));
  const spec = r.spec as PostgresClusterSpec;
  assert.equal(r.metadata.namespace, 'default');
  assert.equal(spec.primaryUpdateStrategy, 'unsupervised');
  assert.deepEqual(spec.bootstrap?.initdb, { database: 'app', owner: 'app', dataChecksums: true, encoding: 'UTF8', locale: 'C' });
  const minimal = admit(cluster({})).spec as PostgresClusterSpec;
  assert.equal(minimal.instances, 1);
  assert.equal(minimal.bootstrap?.initdb?.database, 'app', 'bootstrap is defaulted so it is explicit and immutable');
});

test('each bad field is named with a fix', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ instances: 0 }, 'spec.instances', /at least 1 \(got 0\)/],
    [{ instances: 17 }, 'spec.instances', /at most 16/],
    [{ instances: 'three' }, 'spec.instances', /must be an integer \(got "three"\)/],
    [{ instances: 3, replicas: 2 }, 'spec.replicas', /unknown field "replicas"; allowed here: instances/],
    [{ postgresql: { parameters: { port: '5433' } } }, 'spec.postgresql.parameters', /parameter port is managed by the operator; remove it from spec.postgresql.parameters/],
    [{ postgresql: { parameters: { work_mem: 4 } } }, 'spec.postgresql.parameters.work_mem', /must be a string/],
    [{ instances: 2, postgresql: { synchronous: { method: 'any', number: 2 } } }, 'spec.postgresql.synchronous.number', /less than spec.instances/],
    [{ instances: 2, postgresql: { synchronous: { method: 'most', number: 1 } } }, 'spec.postgresql.synchronous.method', /one of: any, first/],
    [{ storage: { size: 'big' } }, 'spec.storage.size', /Kubernetes quantity/],
    [{ postgresVersion: 14 }, 'spec.postgresVersion', /at least 15/],
    [{ postgresql: { pgHba: ['host all all 0.0.0.0/0 trust'] } }, 'spec.postgresql.pgHba', /trust authentication is refused/],
    [{ certificates: { serverCASecret: 'my-ca' } }, 'spec.certificates.serverCASecret', /set serverTLSSecret too/],
    [{ certificates: { serverTLSSecret: '../etc/x' } }, 'spec.certificates.serverTLSSecret', /must be an object name: lower-case letters/],
    [{ postgresql: { parameters: { ssl_key_file: '/tmp/k' } } }, 'spec.postgresql.parameters', /parameter ssl_key_file is managed by the operator/],
    [{ backup: { repository: { posix: { path: '/r' } }, verify: { schedule: '0 3 * * *; rm -rf /' } } }, 'spec.backup.verify.schedule', /cron expression/],
    [{ backup: { repository: { posix: { path: '/r' } }, verify: { schedule: '0 3 * * * * * *' } } }, 'spec.backup.verify.schedule', /cron expression/],
    [{ backup: { repository: { posix: { path: '/r' } }, verify: { schedule: '* * * * * *' } } }, 'spec.backup.verify.schedule', /more often than every 10 s/],
    [{ backup: { repository: { posix: { path: '/r' } }, verify: { schedule: '0 3 * * *', keep: 0 } } }, 'spec.backup.verify.keep', /at least 1/],
  ];
  for (const [spec, field, message] of cases) {
    const e = refused(cluster(spec));
    const cause = e.causes.find((c) => c.field === field);
    assert.ok(cause, `${JSON.stringify(spec)}: expected an error on ${field}, got ${JSON.stringify(e.causes)}`);
    assert.match(cause.message, message);
    assert.match(e.message, new RegExp(`PostgresCluster "demo" is invalid`));
  }
});

test('kind, apiVersion and metadata problems are reported before the spec', () => {
  assert.equal(refused({ ...cluster({}), kind: 'PgCluster' }).causes[0]?.field, 'kind');
  assert.equal(refused({ ...cluster({}), apiVersion: 'v1' }).causes[0]?.field, 'apiVersion');
  assert.equal(refused(cluster({}, 'Bad_Name')).causes[0]?.field, 'metadata.name');
  assert.equal(refused(cluster({}, 'a'.repeat(51))).causes[0]?.field, 'metadata.name');
  assert.equal(refused({ ...cluster({}), sepc: {} }).causes[0]?.field, 'sepc');
});

test('transition rules compare with the stored object', () => {
  const old = admit(cluster({ postgresVersion: 16, bootstrap: { initdb: { database: 'a' } } }));
  assert.match(refused(cluster({ postgresVersion: 15, bootstrap: { initdb: { database: 'a' } } }), old).causes[0]?.message ?? '', /cannot go down/);
  assert.match(refused(cluster({ postgresVersion: 16, bootstrap: { initdb: { database: 'b' } } }), old).causes[0]?.message ?? '', /immutable/);
  assert.doesNotThrow(() => admit(cluster({ postgresVersion: 17, bootstrap: { initdb: { database: 'a' } } }), old));
});

test('storage.size may grow (in any unit) but never shrink: the quantity transition rule, evaluated locally too', () => {
  const old = admit(cluster({ storage: { size: '2Gi' } }));
  const e = refused(cluster({ storage: { size: '1Gi' } }), old);
  assert.equal(e.causes[0]?.field, 'spec.storage.size');
  assert.match(e.causes[0]?.message ?? '', /cannot shrink/);
  assert.doesNotThrow(() => admit(cluster({ storage: { size: '2048Mi' } }), old));
  assert.doesNotThrow(() => admit(cluster({ storage: { size: '3Gi' } }), old));
});

// --- rolling updates (ADR 0026) ---
test('images: imageName and imageCatalogRef exclude each other, a catalog needs the major, control characters are refused', () => {
  assert.doesNotThrow(() => admit(cluster({ postgresVersion: 15, imageCatalogRef: { kind: 'ImageCatalog', name: 'pg-images' } })));
  assert.doesNotThrow(() => admit(cluster({ imageName: '/opt/pg15/bin' })));
  assert.match(refused(cluster({ postgresVersion: 15, imageName: 'x', imageCatalogRef: { kind: 'ImageCatalog', name: 'c' } })).message, /exclude each other/);
  assert.match(refused(cluster({ imageCatalogRef: { kind: 'ClusterImageCatalog', name: 'c' } })).message, /needs spec.postgresVersion/);
  assert.match(refused(cluster({ postgresVersion: 15, imageCatalogRef: { kind: 'Other', name: 'c' } })).message, /imageCatalogRef/);
  assert.match(refused(cluster({ imageName: '/opt/pg\n/bin' })).message, /imageName/);
});
