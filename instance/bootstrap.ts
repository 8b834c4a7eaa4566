// Making a data directory: initdb for the first primary, pg_basebackup for a replica. A directory that never
// finished bootstrapping holds no user data, so it is wiped and redone from scratch.
import { rmSync } from 'node:fs';
import type { OsUser } from '../adapters/os/os-user.js';
import { runCommand, CommandError } from '../adapters/os/run-command.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';
import { SUPERUSER, REPLICATION_USER } from '../adapters/instance/spec.js';
import { passfile, bin, volumeDir } from './layout.js';
import { beginRewrite, interruptedRewrite, markBootstrapped } from './markers.js';
import { ensureDir, installTls, readSecret, writeConfig, writeOwned, writePassfile } from './files.js';
import { peerTarget, renderConninfo } from './render.js';
import { join } from 'node:path';
import { recoverFromRepository } from './recovery.js';

import type { BootstrapProgress } from './bootstrap-progress.js';
export type { BootstrapProgress } from './bootstrap-progress.js';

export { isBootstrapped } from './markers.js';

function freshDataDir(spec: InstanceSpec, user: OsUser | null): void {
  ensureDir(volumeDir(spec), user);
  if (spec.bootstrap.mode === 'clone') beginRewrite(spec, spec.bootstrap.source);
  rmSync(spec.dataDir, { recursive: true, force: true });
  ensureDir(spec.dataDir, user);
}

export async function initdb(spec: InstanceSpec, user: OsUser | null, progress: (p: BootstrapProgress) => void): Promise<void> {
  if (spec.bootstrap.mode !== 'initdb') throw new Error('initdb called for a clone');
  const o = spec.bootstrap.initdb;
  progress({ step: 'initdb', percent: null });
  freshDataDir(spec, user);
  // initdb reads the password from a file; it lives in the run directory only while initdb runs.
  ensureDir(spec.runDir, user);
  const pwfile = join(spec.runDir, 'initdb.pw');
  writeOwned(pwfile, `${readSecret(spec.secrets.superuser)}\n`, user);
  const args = [
    '-D', spec.dataDir, `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--auth=scram-sha-256',
    `--encoding=${o.encoding}`, `--locale=${o.locale}`, ...(o.dataChecksums ? ['--data-checksums'] : []),
  ];
  try {
    await runCommand(bin(spec, 'initdb'), args, { user });
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeConfig(spec, user, false);
  markBootstrapped(spec);
}

const TRANSIENT = /could not connect|connection refused|timeout expired|the database system is starting up|server closed the connection/i;

/** pg_basebackup from the primary through this replica's slot, retrying while the primary is unreachable. */
export async function cloneFromPrimary(
  spec: InstanceSpec, user: OsUser | null, progress: (p: BootstrapProgress) => void, signal?: AbortSignal,
): Promise<void> {
  if (spec.bootstrap.mode !== 'clone') throw new Error('clone called for an initdb instance');
  const source = spec.bootstrap.source;
  for (let attempt = 1; ; attempt++) {
    freshDataDir(spec, user);
    writePassfile(spec, user);
    installTls(spec, user);
    progress({ step: 'pg_basebackup', percent: 0 });
    try {
      await runCommand(bin(spec, 'pg_basebackup'), [
        '-D', spec.dataDir, '-d', renderConninfo([...peerTarget(spec, source), ['user', REPLICATION_USER]]), '-w',
        '-X', 'stream', '-S', spec.replicationSlot, '--checkpoint=fast', '--progress',
        // Drills and tests slow a clone down to have time to interrupt it.
        ...(process.env.PGOP_CLONE_MAX_RATE ? [`--max-rate=${process.env.PGOP_CLONE_MAX_RATE}`] : []),
      ], {
        user,
        env: { PGPASSFILE: passfile(spec), PGAPPNAME: spec.name, PGCONNECT_TIMEOUT: '5', HOME: spec.runDir },
        onLine: (line) => {
          const m = /\((\d+)%\)/.exec(line);
          if (m) progress({ step: 'pg_basebackup', percent: Number(m[1]) });
        },
        ...(signal ? { signal } : {}),
      });
      break;
    } catch (e) {
      if (!(e instanceof CommandError) || !TRANSIENT.test(e.stderr) || attempt >= 10 || signal?.aborted) throw e;
      progress({ step: `pg_basebackup retry ${attempt} (primary unreachable)`, percent: null });
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** attempt)));
    }
  }
  writeConfig(spec, user, true);
  markBootstrapped(spec);
  progress({ step: 'cloned', percent: 100 });
}

/**
 * Makes the data directory: initdb or a clone as the spec says, except after an interrupted rewind or re-clone,
 * which always clones again (the directory may hold half of two timelines).
 */
export async function bootstrapDataDir(spec: InstanceSpec, user: OsUser | null, progress: (p: BootstrapProgress) => void, signal?: AbortSignal): Promise<void> {
  const reclone = interruptedRewrite(spec);
  if (reclone) await cloneFromPrimary({ ...spec, bootstrap: { mode: 'clone', source: reclone } }, user, progress, signal);
  else if (spec.bootstrap.mode === 'initdb') await initdb(spec, user, progress);
  else if (spec.bootstrap.mode === 'recovery') await recoverFromRepository(spec, user, progress, signal);
  else await cloneFromPrimary(spec, user, progress, signal);
}
