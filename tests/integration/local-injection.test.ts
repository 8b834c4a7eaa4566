// `pgop local apply` against a running platform: configuration injection and metadata a user must not write are
// refused naming the field, and a multi-document apply writes nothing when any document is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster, stateDir } from '../helpers/cli.js';

const scratch = stateDir('pgop-inj-');
const platform = new LocalCluster(join(scratch, 'state'), 'bad');
const file = (name: string, text: string) => { const f = join(scratch, name); writeFileSync(f, text); return f; };
const user = (name: string, role: string, extraMeta = '') =>
  `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresUser\nmetadata:\n  name: ${name}\n${extraMeta}spec:\n  cluster: { name: nowhere }\n  name: ${role}\n`;

before(async () => { await platform.ok(['local', 'up']); });
after(() => platform.down());

test('an upper-case ARCHIVE_COMMAND is refused naming spec.postgresql.parameters; nothing is stored', async () => {
  const f = file('archive.yaml', [
    'apiVersion: postgres.keiailab.io/v1alpha1', 'kind: PostgresCluster', 'metadata:', '  name: bad', 'spec:', '  instances: 1',
    '  postgresql:', '    parameters:', '      ARCHIVE_MODE: "on"', '      ARCHIVE_COMMAND: "touch /tmp/pwned-archive-%f"', '',
  ].join('\n'));
  const r = await platform.run(['local', 'apply', '-f', f]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.postgresql\.parameters: parameter ARCHIVE_COMMAND is managed by the operator/);
  assert.match(r.stderr, /nothing was applied/);
  const list = await platform.ok(['local', 'get', 'pgc', '-o', 'json']);
  assert.doesNotMatch(list, /"bad"/, 'no cluster was stored');
  assert.deepEqual(readdirSync('/tmp').filter((n) => n.startsWith('pwned-archive-')), []);
});

test('a multi-document apply with one refused document writes nothing', async () => {
  await platform.ok(['local', 'apply', '-f', file('u1.yaml', user('u1', 'alice'))]);
  const r = await platform.run(['local', 'apply', '-f', file('two.yaml', `${user('u2', 'bob')}---\n${user('u1', 'mallory')}`)]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /\(document 2\).*\n.*spec\.name: is immutable/);
  assert.match(r.stderr, /nothing was applied/);
  const users = await platform.ok(['local', 'get', 'pguser', '-o', 'json']);
  assert.doesNotMatch(users, /"u2"/, 'the first document was not written either');
  assert.match(users, /"alice"/);
  assert.doesNotMatch(users, /"mallory"/);
});

test('finalizers and a deletion timestamp from a manifest are refused', async () => {
  for (const [meta, message] of [
    ['  finalizers: ["example.com/forever"]\n', /metadata\.finalizers: is set by the operator/],
    ['  deletionTimestamp: "2026-01-01T00:00:00Z"\n', /metadata\.deletionTimestamp: is set by the server/],
  ] as const) {
    const r = await platform.run(['local', 'apply', '-f', file('meta.yaml', user('u3', 'carol', meta))]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, message);
  }
  assert.doesNotMatch(await platform.ok(['local', 'get', 'pguser', '-o', 'json']), /"u3"/);
});
