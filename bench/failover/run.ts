// bench/failover: unplanned failover of pgop against Patroni 3 + etcd on the same machine and the same load.
// A client writes a numbered row every 10 ms through the read-write address; the primary instance is SIGKILLed
// (agent/Patroni and postgres together, like losing its pod). Reports write unavailability p50/p95, acknowledged
// rows lost, and spurious failovers from a 2 s pause, as ratios against the Patroni baseline of the same run.
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { failoverTrial, pauseTrial, type System, type TrialResult } from './trial.js';
import { startPgop } from './pgop-system.js';
import { startPatroni, PATRONI_DEFAULTS, PATRONI_FASTEST } from './patroni-system.js';
import { percentile, fmtMs, ratio } from '../stats.js';

const { values } = parseArgs({ options: {
  trials: { type: 'string', default: '10' },
  pauses: { type: 'string', default: '3' },
  modes: { type: 'string', default: 'async,required' },
  baseline: { type: 'string', default: 'defaults,fastest' },
} });
const trials = Number(values.trials);
const pauses = Number(values.pauses);
const modes = String(values.modes).split(',') as ('async' | 'required')[];
const baselines = String(values.baseline).split(',').filter(Boolean);
const patroniInstalled = spawnSync('patroni', ['--version']).status === 0 && spawnSync('etcd', ['--version']).status === 0;

interface Row { system: string; mode: string; p50: number; p95: number; lost: number; acked: number; spurious: number; n: number; failed: number }

async function measure(make: () => Promise<System & { stop(): Promise<void> }>, mode: string): Promise<Row> {
  const sys = await make();
  const results: TrialResult[] = [];
  let spurious = 0;
  let failed = 0;
  try {
    for (let i = 1; i <= trials; i++) {
      try {
        const r = await failoverTrial(sys, `bench_${mode}_${i}`);
        results.push(r);
        process.stdout.write(`  ${sys.name} trial ${i}/${trials}: ${r.from} → ${r.to}, writes unavailable ${fmtMs(r.unavailableMs)}, ${r.lost} of ${r.acked} acknowledged rows lost\n`);
      } catch (e) {
        // A system that does not recover is a result too: count it and move on.
        failed++;
        process.stdout.write(`  ${sys.name} trial ${i}/${trials}: FAILED (${(e as Error).message.slice(0, 200)})\n`);
        break;
      }
    }
    for (let i = 1; i <= pauses && !failed; i++) {
      const s = await pauseTrial(sys, 2000);
      spurious += s;
      process.stdout.write(`  ${sys.name} pause ${i}/${pauses}: ${s ? 'FAILED OVER' : 'no failover'}\n`);
    }
  } finally {
    await sys.stop();
  }
  const gaps = results.map((r) => r.unavailableMs);
  return {
    system: sys.name, mode, p50: percentile(gaps, 50), p95: percentile(gaps, 95),
    lost: results.reduce((a, r) => a + r.lost, 0), acked: results.reduce((a, r) => a + r.acked, 0), spurious, n: results.length, failed,
  };
}

const rows: Row[] = [];
for (const mode of modes) {
  process.stdout.write(`\n== ${mode} ==\n`);
  rows.push(await measure(() => startPgop(mode), mode));
  if (!patroniInstalled) { process.stdout.write('  (patroni/etcd not installed: run `npm run bench:setup`; no baseline)\n'); continue; }
  if (baselines.includes('defaults')) rows.push(await measure(() => startPatroni(mode, PATRONI_DEFAULTS, `patroni defaults (${mode})`), mode));
  if (baselines.includes('fastest')) rows.push(await measure(() => startPatroni(mode, PATRONI_FASTEST, `patroni fastest (${mode})`), mode));
}

process.stdout.write('\nsystem                        trials  p50 unavail  p95 unavail  acked lost  spurious  p50 vs pgop\n');
for (const r of rows) {
  const ours = rows.find((x) => x.mode === r.mode && x.system.startsWith('pgop'));
  process.stdout.write(`${r.system.padEnd(30)}${`${r.n}${r.failed ? `+${r.failed}✗` : ''}`.padStart(6)}  ${fmtMs(r.p50).padStart(11)}  ${fmtMs(r.p95).padStart(11)}  ${`${r.lost}/${r.acked}`.padStart(10)}  ${`${r.spurious}/${pauses}`.padStart(8)}  ${r.system.startsWith('pgop') ? '1.0x' : `${ratio(ours?.p50 ?? NaN, r.p50)} slower`}\n`);
}
