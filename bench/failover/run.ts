// bench/failover: unplanned failover of pgop against Patroni 3 + etcd on the same machine and the same load.
// A client writes a numbered row every 10 ms through the read-write address. Scenarios: `kill` (the primary instance
// SIGKILLed: agent/Patroni and postgres together, like losing its pod), `freeze` (every process of the primary
// SIGSTOPped for --fault-seconds, then thawed: a paused VM or stalled node that cannot be proven dead), `partition`
// (the primary cut off from the lease store / etcd while clients still reach it). Reports write unavailability
// p50/p95, acknowledged rows lost, acknowledgements by the old primary after the new one took writes, and spurious
// failovers from a 2 s full freeze, as ratios against pgop measured in the same run.
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { failoverTrial, pauseTrial, stalledPrimaryTrial, type System, type TrialResult } from './trial.js';
import { startPgop } from './pgop-system.js';
import { startPatroni, PATRONI_DEFAULTS, PATRONI_FASTEST } from './patroni-system.js';
import { percentile, fmtMs, ratio } from '../stats.js';

const { values } = parseArgs({ options: {
  trials: { type: 'string', default: '10' },
  pauses: { type: 'string', default: '3' },
  modes: { type: 'string', default: 'async,required' },
  baseline: { type: 'string', default: 'defaults,fastest' },
  scenarios: { type: 'string', default: 'kill,freeze,partition' },
  'fault-seconds': { type: 'string', default: '10' },
  /** Also run pgop with platform fencing switched off: the window a thawed old primary has when nobody can kill it. */
  'no-stonith': { type: 'boolean', default: false },
} });
const trials = Number(values.trials);
const pauses = Number(values.pauses);
const modes = String(values.modes).split(',') as ('async' | 'required')[];
const baselines = String(values.baseline).split(',').filter(Boolean);
const scenarios = String(values.scenarios).split(',').filter(Boolean) as Scenario[];
const faultMs = Number(values['fault-seconds']) * 1000;
const patroniInstalled = spawnSync('patroni', ['--version']).status === 0 && spawnSync('etcd', ['--version']).status === 0;

type Scenario = 'kill' | 'freeze' | 'partition';
interface Row {
  system: string; mode: string; scenario: string; p50: number; p95: number; lost: number; acked: number; oldAcks: number;
  spurious: number; pauses: number; n: number; failed: number;
}

const runTrial = (sys: System, scenario: Scenario, table: string): Promise<TrialResult> =>
  scenario === 'kill' ? failoverTrial(sys, table) : stalledPrimaryTrial(sys, table, scenario, faultMs);

async function measure(make: () => Promise<System & { stop(): Promise<void> }>, mode: string): Promise<Row[]> {
  const sys = await make();
  const rows: Row[] = [];
  let spurious = 0;
  let paused = 0;
  let broken = false;
  try {
    for (const scenario of scenarios) {
      const results: TrialResult[] = [];
      let failed = 0;
      for (let i = 1; i <= trials && !broken; i++) {
        try {
          const r = await runTrial(sys, scenario, `bench_${mode}_${scenario}_${i}`);
          results.push(r);
          process.stdout.write(`  ${sys.name} ${scenario} ${i}/${trials}: ${r.from} → ${r.to}, writes unavailable ${fmtMs(r.unavailableMs)}, ${r.lost} of ${r.acked} acknowledged rows lost, ${r.oldTimelineAcks} acks on the old primary after promotion\n`);
          if (r.breakdown) process.stdout.write(`    ${r.breakdown}\n`);
        } catch (e) {
          // A system that does not recover is a result too: count it and stop using this cluster.
          failed++;
          broken = true;
          process.stdout.write(`  ${sys.name} ${scenario} ${i}/${trials}: FAILED (${(e as Error).message.slice(0, 200)})\n`);
        }
      }
      const gaps = results.map((r) => r.unavailableMs);
      rows.push({
        system: sys.name, mode, scenario, p50: percentile(gaps, 50), p95: percentile(gaps, 95),
        lost: results.reduce((a, r) => a + r.lost, 0), acked: results.reduce((a, r) => a + r.acked, 0),
        oldAcks: results.reduce((a, r) => a + r.oldTimelineAcks, 0), spurious: 0, pauses: 0, n: results.length, failed,
      });
    }
    for (let i = 1; i <= pauses && !broken; i++) {
      const s = await pauseTrial(sys, 2000);
      spurious += s;
      paused++;
      process.stdout.write(`  ${sys.name} 2 s full freeze ${i}/${pauses}: ${s ? 'FAILED OVER' : 'no failover'}\n`);
    }
  } finally {
    await sys.stop();
  }
  for (const r of rows) { r.spurious = spurious; r.pauses = paused; }
  return rows;
}

const rows: Row[] = [];
for (const mode of modes) {
  process.stdout.write(`\n== ${mode} ==\n`);
  rows.push(...await measure(() => startPgop(mode), mode));
  if (values['no-stonith']) rows.push(...await measure(() => startPgop(mode, false), mode));
  if (!patroniInstalled) { process.stdout.write('  (patroni/etcd not installed: run `npm run bench:setup`; no baseline)\n'); continue; }
  if (baselines.includes('defaults')) rows.push(...await measure(() => startPatroni(mode, PATRONI_DEFAULTS, `patroni defaults (${mode})`), mode));
  if (baselines.includes('fastest')) rows.push(...await measure(() => startPatroni(mode, PATRONI_FASTEST, `patroni fastest (${mode})`), mode));
}

process.stdout.write(`\nscenario   system                        trials  p50 unavail  p95 unavail  acked lost  old-tl acks  2 s freeze  p50 vs pgop\n`);
for (const r of rows) {
  const ours = rows.find((x) => x.mode === r.mode && x.scenario === r.scenario && x.system.startsWith('pgop'));
  process.stdout.write(`${r.scenario.padEnd(11)}${r.system.padEnd(30)}${`${r.n}${r.failed ? `+${r.failed}✗` : ''}`.padStart(6)}  ${fmtMs(r.p50).padStart(11)}  ${fmtMs(r.p95).padStart(11)}  ${`${r.lost}/${r.acked}`.padStart(10)}  ${String(r.oldAcks).padStart(11)}  ${`${r.spurious}/${r.pauses}`.padStart(10)}  ${r.system.startsWith('pgop') ? '1.0x' : `${ratio(ours?.p50 ?? NaN, r.p50)}`}\n`);
}
process.stdout.write(`(fault: ${faultMs / 1000} s; "old-tl acks": writes acknowledged by the old primary after the new one had acknowledged one; ratio = system p50 / pgop p50)\n`);
