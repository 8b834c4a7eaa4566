// Runs a test tier (or all) with node's built-in runner over the compiled files in dist/.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..');

function find(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) find(p, out);
    else if (e.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

// `npm start` (the README test runs it verbatim) rebuilds dist/ with tsc, which rewrites every compiled file in place:
// a test file importing a module at that moment reads it half-written (seen in CI as a missing export). Such files
// run on their own, after the tier's other files.
const REBUILDS_DIST = new Set(['readme-command.test.js']);

const tiers: Record<string, { files: () => string[]; concurrency: number }> = {
  unit: {
    files: () => ['machines', 'crds', 'actors', 'adapters', 'instance', 'bin', 'router', join('tests', 'unit')].flatMap((d) => find(join(dist, d))),
    concurrency: 2,
  },
  // Two files at a time: these tests mostly wait (leases, archiving, schedules), each file has its own state
  // directory and kernel-chosen ports, and a clean 2-core run took 18.5 min instead of 35 with every test passing.
  // PGOP_TEST_SERIAL=1 runs them one by one (slower machines, or to tell a load-related failure apart).
  integration: { files: () => find(join(dist, 'tests', 'integration')), concurrency: process.env.PGOP_TEST_SERIAL === '1' ? 1 : 2 },
  // The router against 4 real shards and one unsharded PostgreSQL: same statements, same rows.
  compat: { files: () => find(join(dist, 'tests', 'compat')), concurrency: 1 },
  k8s: { files: () => find(join(dist, 'tests', 'k8s')), concurrency: 1 },
};

const wanted = process.argv[2] ?? 'all';
const order = wanted === 'all' ? Object.keys(tiers) : [wanted];
let failed = false;
const keepGoing = process.env.PGOP_TEST_KEEP_GOING === '1';
for (const tier of order) {
  const t = tiers[tier];
  if (!t) { console.error(`unknown tier ${tier}; use ${Object.keys(tiers).join(', ')} or all`); process.exit(2); }
  const files = t.files();
  if (!files.length) { console.log(`# ${tier}: no tests yet`); continue; }
  console.log(`# ${tier}: ${files.length} files`);
  const alone = files.filter((f) => REBUILDS_DIST.has(basename(f)));
  const batches = [{ files: files.filter((f) => !alone.includes(f)), concurrency: t.concurrency }, { files: alone, concurrency: 1 }];
  let tierFailed = false;
  for (const b of batches) {
    if (!b.files.length || (tierFailed && !keepGoing)) continue;
    const r = spawnSync(process.execPath, [
      '--enable-source-maps', '--test', '--test-force-exit', `--test-concurrency=${b.concurrency}`, '--test-reporter=spec', ...b.files.map((f) => relative(process.cwd(), f)),
    ], { stdio: 'inherit' });
    if (r.status !== 0) tierFailed = true;
  }
  if (tierFailed) { failed = true; console.error(`# ${tier}: FAILED`); if (!keepGoing) break; }
}
process.exit(failed ? 1 : 0);
