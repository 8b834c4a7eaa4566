// A config file written atomically inside a data directory leaves a temp file there for a moment (and for good if
// its writer dies). A replica clone's pg_basebackup that met one it may not read failed the clone (seen on the
// Kubernetes tier: "could not open file ./.pgop.conf.tmp-…: Permission denied"). Temp files now carry PostgreSQL's own
// temp prefix, which base backups skip. Real PostgreSQL 15, the replication role over TLS, as a clone connects.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { LocalCluster, stateDir } from '../helpers/cli.js';
import { uriFor } from '../helpers/sql.js';
import { TEMP_MARK, TEMP_PREFIX } from '../../adapters/os/atomic-file.js';
import { REPLICATION_USER } from '../../adapters/instance/spec.js';

const state = stateDir('pgop-bbtemp-');
const c = new LocalCluster(state, 'bbtemp');
after(async () => { await c.down(); });

test('a temp file the walsender cannot read, lying in the data directory, does not fail a base backup', async () => {
  const file = join(state, 'bbtemp.yaml');
  writeFileSync(file, 'apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: bbtemp\nspec:\n  instances: 1\n  postgresVersion: 15\n');
  await c.ok(['local', 'up', '-f', file, '--wait', '--timeout', '240']);
  const spec = c.instanceSpec((await c.get()).status?.currentPrimary ?? '');
  const uri = uriFor(REPLICATION_USER, c.secret('replication'), spec.port, 'postgres', c.caFile());
  const basebackup = (name: string) => {
    // As a crashed (or still writing) root writer leaves it: 0600, not the postgres user's.
    const temp = join(spec.dataDir, name);
    writeFileSync(temp, 'half a config', { mode: 0o600 });
    const out = mkdtempSync(join(tmpdir(), 'pgop-bbtemp-out-'));
    try {
      return spawnSync(join(spec.pgBinDir, 'pg_basebackup'), ['-d', uri, '-D', join(out, 'data'), '-X', 'none', '-c', 'fast'], { encoding: 'utf8' });
    } finally {
      rmSync(temp, { force: true });
      rmSync(out, { recursive: true, force: true });
    }
  };
  const named = basebackup(`${TEMP_PREFIX}pgop.conf${TEMP_MARK}0123456789ab`);
  assert.equal(named.status, 0, named.stderr);
  // The control: the name temp files had before, under the same conditions, fails the backup.
  const before = basebackup(`.pgop.conf${TEMP_MARK}0123456789ab`);
  assert.notEqual(before.status, 0);
  assert.match(before.stderr, /could not open file .*\.pgop\.conf\.tmp-0123456789ab.*Permission denied/);
});
