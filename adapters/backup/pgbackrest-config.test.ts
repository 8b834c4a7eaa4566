import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPgbackrestConf, renderPgbackrestServerConf, archiveCommand, restoreArgs, pgTimestamp, repositoryProblems, BackupConfigError, STANZA_PATTERN } from './pgbackrest-config.js';
import { stanzaName, type RepositorySpec } from '../../crds/backup-repository.js';
import { admit, AdmissionError } from '../../crds/admission.js';

const pg = [{ path: '/data/pgdata', port: 5432, socketPath: '/run/pg' }];
const posix = (path: string): RepositorySpec => ({ posix: { path } });
const s3 = (o: Partial<NonNullable<RepositorySpec['s3']>> = {}): RepositorySpec => ({
  s3: { endpoint: 'localhost:9000', bucket: 'backups', region: 'us-east-1', path: '/pgop', uriStyle: 'path', credentialsSecret: 's3-creds', verifyTLS: true, ...o },
});
const creds = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'abc/def+ghi' };

test('stanza names keep namespace and name apart and cannot collide', () => {
  assert.equal(stanzaName('default', 'demo'), 'default_demo');
  assert.notEqual(stanzaName('a-b', 'c'), stanzaName('a', 'b-c'));
  assert.ok(STANZA_PATTERN.test(stanzaName('team-1', 'orders-db')));
});

test('a posix repository renders one stanza with its PostgreSQL host', () => {
  const text = renderPgbackrestConf({ stanza: 'default_demo', repository: posix('/var/lib/pgop/repo'), pg, lockPath: '/run/pg/lock', retention: { fullCount: 2 } });
  assert.match(text, /^repo1-type=posix$/m);
  assert.match(text, /^repo1-path=\/var\/lib\/pgop\/repo$/m);
  assert.match(text, /^repo1-retention-full=2$/m);
  assert.match(text, /^\[default_demo\]\npg1-path=\/data\/pgdata\npg1-port=5432\npg1-socket-path=\/run\/pg\npg1-user=postgres$/m);
});

test('a standby backup (ADR 0035): pg1 is the primary over pgBackRest TLS with this instance\'s certificate, pg2 the local standby', () => {
  const tls = { host: '10.0.0.5', port: 8432, certFile: '/run/pgop/tls/server.crt', keyFile: '/run/pgop/tls/server.key', caFile: '/run/pgop/tls/ca.crt' };
  const text = renderPgbackrestConf({ stanza: 'default_demo', repository: posix('/repo'), pg: [{ ...pg[0]!, tls }, { path: '/mine/pgdata', port: 5432, socketPath: '/mine/run' }], backupStandby: true, lockPath: '/run/pg/lock' });
  assert.match(text, /^backup-standby=y$/m);
  assert.match(text, /^pg1-user=postgres\npg1-host=10\.0\.0\.5\npg1-host-type=tls\npg1-host-port=8432\npg1-host-cert-file=\/run\/pgop\/tls\/server\.crt\npg1-host-key-file=\/run\/pgop\/tls\/server\.key\npg1-host-ca-file=\/run\/pgop\/tls\/ca\.crt\npg2-path=\/mine\/pgdata$/m);
  assert.doesNotMatch(text, /pg2-host/);
  for (const bad of [{ host: 'evil\npg1-path=/' }, { host: 'db.example' }, { port: 70000 }, { certFile: 'rel/cert' }, { caFile: '/x\nrepo1-path=/y' }]) {
    assert.throws(() => renderPgbackrestConf({ stanza: 'default_demo', repository: posix('/repo'), pg: [{ ...pg[0]!, tls: { ...tls, ...bad } }], lockPath: '/l' }), BackupConfigError, JSON.stringify(bad));
  }
});

test('the pgbackrest server listens on the pod IP, admits only the cluster CN for its own stanza, and refuses hostile values', () => {
  const o = { address: '10.0.0.5', port: 8432, certFile: '/run/tls/server.crt', keyFile: '/run/tls/server.key', caFile: '/run/tls/ca.crt', clientCn: 'demo.default', stanza: 'default_demo', lockPath: '/run/lock' };
  const text = renderPgbackrestServerConf(o);
  assert.match(text, /^tls-server-address=10\.0\.0\.5$/m);
  assert.match(text, /^tls-server-ca-file=\/run\/tls\/ca\.crt$/m);
  assert.match(text, /^tls-server-auth=demo\.default=default_demo$/m);
  for (const bad of [{ address: '0.0.0.0\ntls-server-auth=x=*' }, { clientCn: 'demo default' }, { clientCn: 'a=*' }, { stanza: '*' }, { keyFile: '../k' }]) {
    assert.throws(() => renderPgbackrestServerConf({ ...o, ...bad }), BackupConfigError, JSON.stringify(bad));
  }
});

test('compression and parallel copies reach pgBackRest as compress-type and process-max; absent, its defaults stay', () => {
  const text = renderPgbackrestConf({ stanza: 'default_demo', repository: { posix: { path: '/r' }, compression: 'lz4', parallel: 2 }, pg, lockPath: '/tmp/l' });
  assert.match(text, /^compress-type=lz4$/m);
  assert.match(text, /^process-max=2$/m);
  const plain = renderPgbackrestConf({ stanza: 'default_demo', repository: posix('/r'), pg, lockPath: '/tmp/l' });
  assert.doesNotMatch(plain, /compress-type|process-max/);
});

test('an S3 repository keeps TLS verification on and its keys only in the file', () => {
  const text = renderPgbackrestConf({ stanza: 'default_demo', repository: s3(), credentials: creds, caFile: '/certs/ca.crt', pg, lockPath: '/tmp/l' });
  assert.match(text, /^repo1-s3-endpoint=localhost$/m);
  assert.match(text, /^repo1-storage-port=9000$/m);
  assert.match(text, /^repo1-storage-verify-tls=y$/m);
  assert.match(text, /^repo1-storage-ca-file=\/certs\/ca.crt$/m);
  assert.match(text, /^repo1-s3-key-secret=abc\/def\+ghi$/m);
  assert.throws(() => renderPgbackrestConf({ stanza: 'default_demo', repository: s3(), pg, lockPath: '/tmp/l' }), /needs credentials/);
});

test('hostile values never reach the config or the shell command', () => {
  const hostile: [string, RepositorySpec][] = [
    ['newline in path', posix('/repo\nrepo1-type=s3')],
    ['relative path', posix('repo')],
    ['dot-dot', posix('/var/../etc')],
    ['space and quote', posix("/repo'; rm -rf /")],
    ['endpoint with scheme', s3({ endpoint: 'https://evil' })],
    ['endpoint with newline', s3({ endpoint: 'localhost\nrepo1-path=/' })],
    ['IP endpoint', s3({ endpoint: '10.0.0.1:9000' })],
    ['bucket with slash', s3({ bucket: 'a/b' })],
    ['region injection', s3({ region: 'us-east-1\nx=y' })],
    ['TLS off', s3({ verifyTLS: false })],
    ['unknown compression', { posix: { path: '/r' }, compression: 'gz\nrepo1-path=/' as RepositorySpec['compression'] }],
    ['parallel zero', { posix: { path: '/r' }, parallel: 0 }],
    ['parallel fraction', { posix: { path: '/r' }, parallel: 1.5 }],
    ['parallel huge', { posix: { path: '/r' }, parallel: 1000 }],
  ];
  for (const [what, repo] of hostile) {
    assert.ok(repositoryProblems(repo).length > 0, what);
    assert.throws(() => renderPgbackrestConf({ stanza: 'default_demo', repository: repo, credentials: creds, pg, lockPath: '/tmp/l' }), BackupConfigError, what);
  }
  assert.throws(() => renderPgbackrestConf({ stanza: 'default_demo', repository: s3(), credentials: { accessKeyId: 'a\nrepo1-path=/', secretAccessKey: 'x' }, pg, lockPath: '/tmp/l' }), BackupConfigError);
  assert.throws(() => renderPgbackrestConf({ stanza: 'x]\n[global', repository: posix('/r'), pg, lockPath: '/tmp/l' }), BackupConfigError);
  assert.throws(() => archiveCommand('/run/pg/pgbackrest.conf; touch /tmp/x', 'default_demo'), BackupConfigError);
  assert.throws(() => archiveCommand('/run/pg/pgbackrest.conf', 'default_demo $(id)'), BackupConfigError);
  assert.equal(archiveCommand('/run/pg/pgbackrest.conf', 'default_demo'), 'pgbackrest --config=/run/pg/pgbackrest.conf --stanza=default_demo archive-push %p');
});

test('restore arguments: target types, exclusive, backup label; hostile targets refused', () => {
  assert.deepEqual(restoreArgs({}), ['--type=default']);
  assert.deepEqual(restoreArgs({ backup: '20261125-141450F', target: { time: '2026-11-25T14:35:35.667338Z', inclusive: true } }),
    ['--set=20261125-141450F', '--type=time', '--target=2026-11-25 14:35:35.667338+00', '--target-action=promote']);
  assert.deepEqual(restoreArgs({ target: { lsn: '0/3000028', inclusive: false } }), ['--type=lsn', '--target=0/3000028', '--target-action=promote', '--target-exclusive']);
  assert.deepEqual(restoreArgs({ target: { xid: '1234', inclusive: true } }).slice(0, 2), ['--type=xid', '--target=1234']);
  assert.deepEqual(restoreArgs({ target: { name: 'before-migration', inclusive: true } }).slice(0, 2), ['--type=name', '--target=before-migration']);
  assert.throws(() => restoreArgs({ backup: '20261125-141450F --delta' }), BackupConfigError);
  assert.throws(() => restoreArgs({ target: { name: "x' --type=immediate", inclusive: true } }), BackupConfigError);
  assert.throws(() => pgTimestamp('yesterday'), BackupConfigError);
  assert.equal(pgTimestamp('2026-11-25T14:35:35+02:00'), '2026-11-25 14:35:35+02:00');
});

test('admission refuses hostile repository values and a restore under the source\'s own name', () => {
  const cluster = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'postgres.keiailab.io/v1alpha1', kind: 'PostgresCluster', metadata: { name }, spec: { instances: 1, ...spec } });
  const refused = (spec: Record<string, unknown>, field: RegExp, name = 'demo') => {
    try { admit(cluster(name, spec)); } catch (e) {
      assert.ok(e instanceof AdmissionError);
      assert.match(e.message, field);
      return;
    }
    assert.fail(`admitted ${JSON.stringify(spec)}`);
  };
  refused({ backup: { repository: { posix: { path: '/repo\nx' } } } }, /spec\.backup\.repository\.posix\.path/);
  refused({ backup: { repository: { posix: { path: '/var/../etc' } } } }, /\.\. segment/);
  refused({ backup: { repository: { s3: { endpoint: 'https://x', bucket: 'b1b', path: '/p', credentialsSecret: 'c' } } } }, /spec\.backup\.repository\.s3\.endpoint/);
  refused({ backup: { repository: { s3: { endpoint: 'localhost', bucket: 'b1b', path: '/p', credentialsSecret: 'c', verifyTLS: false } } } }, /verifyTLS/);
  refused({ backup: { repository: { s3: { endpoint: '127.0.0.1:9000', bucket: 'b1b', path: '/p', credentialsSecret: 'c' } } } }, /not an IP address/);
  refused({ backup: { repository: { posix: { path: '/a' }, compression: 'rar' } } }, /spec\.backup\.repository\.compression/);
  refused({ backup: { repository: { posix: { path: '/a' }, parallel: 0 } } }, /spec\.backup\.repository\.parallel/);
  refused({ backup: { repository: { posix: { path: '/a' }, s3: { endpoint: 'localhost', bucket: 'b1b', path: '/p', credentialsSecret: 'c' } } } }, /exactly one of posix, s3/);
  refused({ bootstrap: { recovery: { repository: { posix: { path: '/r' } }, sourceCluster: { namespace: 'default', name: 'demo' } } } }, /sourceCluster.name must differ/);
  refused({ bootstrap: { recovery: { repository: { posix: { path: '/r' } }, sourceCluster: { namespace: 'default', name: 'src' }, target: { time: '2026-01-01T00:00:00Z', lsn: '0/1' } } } }, /exactly one of time, lsn, xid, name/);
  admit(cluster('copy', { bootstrap: { recovery: { repository: { posix: { path: '/r' } }, sourceCluster: { namespace: 'default', name: 'src' }, target: { time: '2026-01-01T00:00:00Z' } } } }));
});
