// bench/backup: a full backup and a restore of a pgbench database through pgop, against baselines run by hand in the
// same run on the same instance: the same pgBackRest command (the agent's own config) and pg_basebackup (a tar copy
// of the same data directory, WAL streamed). Restore: the `pgbackrest restore` pgop's new instance runs (its
// duration from the agent's progress log) against the same restore by hand into an empty directory, and the time
// from applying the recovery manifest (`pgop local apply`) to the first accepted query on the new cluster.
// Ratios are printed as baseline time / pgop time (1.0x = same speed). `--trials N` repeats each pair, alternating
// which side goes first, and reports medians and every pair's ratio (a shared machine's load drifts during a run).
// `--smoke` runs at scale 1 to check that it works; numbers worth keeping need a quiet machine and a larger scale
// (150 ≈ 2.2 GB).
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync, chownSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { LocalCluster, stateDir } from '../../tests/helpers/cli.js';
import { query, uriFor } from '../../tests/helpers/sql.js';
import type { BackupJob } from '../../crds/backupjob.js';
import { postgresUser } from '../../adapters/os/os-user.js';
import { REPLICATION_USER } from '../../adapters/instance/spec.js';

const { values } = parseArgs({ options: {
  scale: { type: 'string', default: '30' },
  compression: { type: 'string', default: 'gz' },
  trials: { type: 'string', default: '2' },
  parallel: { type: 'string', default: '1' },
  smoke: { type: 'boolean', default: false },
} });
const scale = values.smoke ? 1 : Number(values.scale);
const trials = values.smoke ? 1 : Math.max(1, Number(values.trials));
const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2; };
/** Runs both sides `trials` times, alternating which goes first, so neither always meets the warmer cache or the lighter load. */
async function pairs(a: (i: number) => Promise<number>, b: (i: number) => Promise<number>): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  // Each run starts with no dirty pages left by the one before (a restore writes 2 GB; the kernel would otherwise
  // flush them during the next run, whichever side it is).
  const settled = <T>(f: () => Promise<T>) => { execFileSync('sync'); return f(); };
  for (let i = 0; i < trials; i++) {
    if (i % 2 === 0) { out.a.push(await settled(() => a(i))); out.b.push(await settled(() => b(i))); } else { out.b.push(await settled(() => b(i))); out.a.push(await settled(() => a(i))); }
  }
  return out;
}
const pgUser = postgresUser();
const asPostgres = pgUser ? { uid: pgUser.uid, gid: pgUser.gid } : {};

function run(bin: string, args: string[], env: Record<string, string> = {}, as: 'postgres' | 'me' = 'postgres'): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: { ...process.env, ...env }, maxBuffer: 64 << 20, cwd: '/', ...(as === 'postgres' ? asPostgres : {}) },
      (err, _out, stderr) => (err ? reject(new Error(`${bin.split('/').pop()}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)) : resolve()));
  });
}
const timed = async (fn: () => Promise<unknown>): Promise<number> => { const t = process.hrtime.bigint(); await fn(); return Number(process.hrtime.bigint() - t) / 1e9; };
const mib = (bytes: number) => bytes / 1048576;
const owned = (dir: string) => { mkdirSync(dir, { recursive: true, mode: 0o700 }); if (pgUser) chownSync(dir, pgUser.uid, pgUser.gid); return dir; };

const state = stateDir('pgop-bench-backup-');
const repo = mkdtempSync(join(tmpdir(), 'pgop-bench-repo-'));
execFileSync('chmod', ['755', repo]);
if (pgUser) chownSync(repo, pgUser.uid, pgUser.gid);
const scratch = mkdtempSync(join(tmpdir(), 'pgop-bench-scratch-'));
execFileSync('chmod', ['755', scratch]);
const source = new LocalCluster(state, 'bsrc');
const manifest = (name: string, body: string) => {
  const file = join(state, `${name}.yaml`);
  writeFileSync(file, `apiVersion: postgres.keiailab.io/v1alpha1\nkind: PostgresCluster\nmetadata:\n  name: ${name}\nspec:\n  instances: 1\n  postgresVersion: 15\n${body}`);
  return file;
};
const repoYaml = (indent: string) => `${indent}repository:\n${indent}  posix:\n${indent}    path: ${repo}\n${indent}  compression: ${values.compression}\n${indent}  parallel: ${Number(values.parallel)}\n`;

/** Seconds between two bootstrap progress steps in an agent's JSON log (pino: ISO `time`, `progress.step`). */
function stepSeconds(agentLog: string, from: RegExp, to: RegExp): number {
  const steps = readFileSync(agentLog, 'utf8').split('\n').filter(Boolean)
    .map((l) => { try { return JSON.parse(l) as { time?: string; progress?: { step?: string } }; } catch { return {}; } })
    .flatMap((e) => (e.progress?.step && e.time ? [{ step: e.progress.step, at: Date.parse(e.time) }] : []));
  const start = steps.find((e) => from.test(e.step));
  const end = start && steps.find((e) => e.at >= start.at && to.test(e.step));
  if (!start || !end) throw new Error(`the agent log ${agentLog} has no progress steps ${from} → ${to}`);
  return (end.at - start.at) / 1000;
}

try {
  await source.ok(['local', 'up', '-f', manifest('bsrc', `  backup:\n${repoYaml('    ')}`), '--wait', '--timeout', '300']);
  const primary = (await source.get()).status?.currentPrimary ?? '';
  const spec = source.instanceSpec(primary);
  const password = source.secret('superuser');
  console.log(`pgbench -i -s ${scale} ...`);
  await run('pgbench', ['-i', '-s', String(scale), '-q', '-h', spec.runDir, '-p', String(spec.port), '-U', 'postgres', 'app'], { PGPASSWORD: password });
  const [{ size = '0' } = {}] = await query<{ size: string }>(uriFor('postgres', password, spec.port, 'app', source.caFile()), 'SELECT sum(pg_database_size(datname))::bigint::text AS size FROM pg_database');
  const bytes = Number(size);

  // The same instance, the same repository; a warm-up backup first so no run pays for a cold cache alone.
  await source.ok(['local', 'backup', 'bsrc', '--type', 'full', '--wait', '--timeout', '3600'], 3600_000);
  const conf = join(spec.runDir, 'pgbackrest.conf');
  // `--wait` returns once the backup is saved (Succeeded); the job then records its table fingerprint. That is
  // timed on its own, and waited for before the next run, so it never overlaps the run by hand.
  const untilFingerprint: number[] = [];
  const pgopBackupRun = async () => {
    const t = process.hrtime.bigint();
    const out = await source.ok(['local', 'backup', 'bsrc', '--type', 'full', '--wait', '--timeout', '3600'], 3600_000);
    const saved = Number(process.hrtime.bigint() - t) / 1e9;
    const name = /^backupjob\/(\S+) created/m.exec(out)?.[1] ?? '';
    for (;;) {
      const job = JSON.parse(await source.ok(['local', 'get', 'backupjob', name, '-o', 'json'])) as BackupJob;
      if (job.status?.fingerprint || job.status?.fingerprintError) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    untilFingerprint.push(Number(process.hrtime.bigint() - t) / 1e9);
    return saved;
  };
  const backups = await pairs(
    pgopBackupRun,
    () => timed(() => run('pgbackrest', [`--config=${conf}`, '--stanza=default_bsrc', 'backup', '--type=full'], { PGPASSWORD: password })));
  const basebackupDir = join(scratch, 'basebackup');
  // As replicas clone: the replication role over TLS (the only way pg_hba lets it in).
  const replication = uriFor(REPLICATION_USER, source.secret('replication'), spec.port, 'postgres', source.caFile());
  const basebackup = await timed(() => run(join(spec.pgBinDir, 'pg_basebackup'), ['-d', replication, '-D', basebackupDir, '-Ft', '-X', 'stream', '-c', 'fast'], {}, 'me'));
  const jobs = (JSON.parse(await source.ok(['local', 'get', 'backupjob', '-o', 'json'])) as { items: BackupJob[] }).items;
  const pgopLabels = jobs.map((j) => j.status?.backupId ?? '').filter(Boolean).sort();
  const newest = pgopLabels.at(-1) ?? '';
  // The copy alone, as pgBackRest itself records it (whole seconds): what pgop adds around it is the rest.
  const [stanza] = JSON.parse(execFileSync('pgbackrest', [`--config=${conf}`, '--stanza=default_bsrc', 'info', '--output=json'], { encoding: 'utf8', cwd: '/', ...asPostgres })) as { backup?: { label: string; timestamp: { start: number; stop: number } }[] }[];
  const copy = (label: string) => { const b = stanza?.backup?.find((x) => x.label === label); return b ? b.timestamp.stop - b.timestamp.start : NaN; };
  const handLabels = (stanza?.backup ?? []).map((b) => b.label).filter((l) => !pgopLabels.includes(l));
  const pgopCopy = pgopLabels.slice(1).map(copy);
  const handCopy = handLabels.map(copy);

  // Restore: the same `pgbackrest restore` pgop's new instance runs (same repository options, same backup, same
  // recovery type), by hand into an empty directory; then apply → first accepted query on a new cluster.
  const restoreByHand = async (i: number) => {
    const handDir = owned(join(scratch, `restore-${i}`));
    const handConf = join(scratch, `restore-${i}.conf`);
    writeFileSync(handConf, `[global]\nrepo1-path=${repo}\nprocess-max=${Number(values.parallel)}\nlog-level-console=off\nlog-level-stderr=warn\n\n[default_bsrc]\npg1-path=${handDir}\n`);
    if (pgUser) chownSync(handConf, pgUser.uid, pgUser.gid);
    const t = await timed(() => run('pgbackrest', [`--config=${handConf}`, '--stanza=default_bsrc', 'restore', `--set=${newest}`, '--type=default']));
    rmSync(handDir, { recursive: true, force: true });
    return t;
  };
  const firstQuery: number[] = [];
  const pgopRestore = async (i: number) => {
    const restored = new LocalCluster(state, `brst${i}`);
    try {
      firstQuery.push(await timed(async () => {
        // One CLI process that applies and waits (it reads the status from the store): polling with a new CLI
        // process every half second would spend a core of this 2-core machine beside the restore being timed.
        await restored.ok(['local', 'up', '-f', manifest(`brst${i}`, `  bootstrap:\n    recovery:\n${repoYaml('      ')}      sourceCluster: { namespace: default, name: bsrc }\n      backup: "${newest}"\n`), '--wait', '--timeout', '3600'], 3600_000);
        const rs = restored.instanceSpec((await restored.get()).status?.currentPrimary ?? '');
        await query(uriFor('postgres', restored.secret('superuser'), rs.port, 'app', restored.caFile()), 'SELECT count(*) FROM pgbench_accounts');
      }));
      const restoredPrimary = (await restored.get()).status?.currentPrimary ?? '';
      return stepSeconds(join(state, 'instances', 'default', restoredPrimary, 'agent.log'), /^pgbackrest restore from stanza/, /^replaying WAL/);
    } finally {
      // The next trial gets the machine to itself (the source stays up: its platform is shared).
      await restored.ok(['local', 'delete', 'pgc', `brst${i}`, '--wait']).catch(() => undefined);
    }
  };
  const restores = await pairs(pgopRestore, restoreByHand);

  const pgopBackup = median(backups.a);
  const byHand = median(backups.b);
  const list = (xs: number[]) => xs.map((x) => `${x.toFixed(1)}`).join(', ');
  const pairRatios = (p: { a: number[]; b: number[] }) => p.a.map((x, i) => `${(p.b[i]! / x).toFixed(2)}x`).join(', ');
  const row = (what: string, s: number, base: number | null) => `| ${what} | ${s.toFixed(1)} s | ${mib(bytes / s).toFixed(1)} MiB/s | ${base === null ? '—' : `${(base / s).toFixed(2)}x`} |`;
  console.log(`\nbench/backup: pgbench scale ${scale}, ${mib(bytes).toFixed(0)} MiB in all databases, compression ${values.compression}, parallel ${values.parallel}, ${trials} trial(s) per side (medians below), load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}\n`);
  console.log('| run | time | throughput | baseline time / this time |\n| --- | --- | --- | --- |');
  console.log(row('pgop full backup (`pgop local backup --wait`)', pgopBackup, byHand));
  console.log(row('pgbackrest backup by hand (same config)', byHand, null));
  console.log(row('pgop full backup until its table fingerprint is recorded (not in the ratio; the CLI polls for it)', median(untilFingerprint), null));
  console.log(row('pg_basebackup -Ft -X stream', basebackup, null));
  console.log(`| pgop vs pg_basebackup | | | ${(basebackup / pgopBackup).toFixed(2)}x |`);
  console.log(row('pgop restore: the new instance\'s pgbackrest restore', median(restores.a), median(restores.b)));
  console.log(row('pgbackrest restore by hand (same options)', median(restores.b), null));
  console.log(row('pgop restore: apply → first accepted query', median(firstQuery), null));
  console.log(`| pgBackRest's copy inside pgop's backup (pgBackRest's own start/stop, whole seconds) | ${median(pgopCopy).toFixed(0)} s | ${mib(bytes / median(pgopCopy)).toFixed(1)} MiB/s | ${(median(handCopy) / median(pgopCopy)).toFixed(2)}x |`);
  console.log(`| pgBackRest's copy by hand (same) | ${median(handCopy).toFixed(0)} s | ${mib(bytes / median(handCopy)).toFixed(1)} MiB/s | — |`);
  console.log(`\nevery pair (s): pgop backup ${list(backups.a)}; by hand ${list(backups.b)}; ratios ${pairRatios(backups)}`);
  console.log(`every pair (s): pgop restore ${list(restores.a)}; by hand ${list(restores.b)}; ratios ${pairRatios(restores)}`);
} finally {
  await source.down().catch(() => undefined);
  rmSync(repo, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}
