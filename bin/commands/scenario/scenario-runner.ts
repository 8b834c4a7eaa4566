// Replays a scenario against a local cluster, step by step, and reports pass/fail per step.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import type { Platform } from '../../../adapters/local/control.js';
import type { PostgresCluster } from '../../../crds/postgrescluster.js';
import { Scenario, type Step } from './scenario-schema.js';
import { killTarget } from '../local-kill.js';
import { partition, failPromotion } from '../local-partition.js';
import { switchover, SwitchoverNotPromoted } from '../local-switchover.js';
import { waitForClusters } from '../local-wait.js';
import { readManifests } from '../../../adapters/local/manifests.js';
import { connectionUri } from '../local-connect.js';
import { RowWriter, missingAcked } from '../../../adapters/sql/row-writer.js';
import pg from 'pg';

export interface StepResult { index: number; step: string; ok: boolean; ms: number; detail: string }

export function loadScenario(file: string): Scenario {
  let raw: unknown;
  try { raw = parse(readFileSync(file, 'utf8')); } catch (e) { throw new Error(`${file}: ${(e as Error).message}`); }
  if (!Value.Check(Scenario, raw)) {
    const first = [...Value.Errors(Scenario, raw)][0];
    throw new Error(`${file}: invalid scenario at ${first?.path || '(root)'}: ${first?.message}`);
  }
  return raw;
}

const describe = (s: Step) => { const [k, v] = Object.entries(s)[0] ?? ['?', '']; return `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runScenario(p: Platform, file: string, namespace: string, out: (s: string) => void): Promise<StepResult[]> {
  const scenario = loadScenario(file);
  const base = dirname(resolve(file));
  const key = { kind: 'PostgresCluster', namespace, name: scenario.cluster };
  const remembered = new Map<string, string>();
  let writer: RowWriter | null = null;
  let writes: number[] = [];
  const get = async () => {
    const c = (await p.store.get(key)) as PostgresCluster | undefined;
    if (!c) throw new Error(`postgrescluster ${scenario.cluster} not found`);
    return c;
  };
  const ref = async (r: string): Promise<string> => {
    if (r.startsWith('@')) { const v = remembered.get(r.slice(1)); if (!v) throw new Error(`nothing remembered as ${r}`); return v; }
    const c = await get();
    if (r === 'primary') return c.status?.currentPrimary ?? '';
    if (r === 'replica') {
      const rep = (c.status?.instances ?? []).find((i) => i.name !== c.status?.currentPrimary && i.ready);
      if (!rep) throw new Error('no ready replica');
      return rep.name;
    }
    return r;
  };
  const rw = async () => connectionUri(p, await get(), 'primary');
  // Status can lag the processes by a report: only a query shows the endpoint serves a primary.
  const acceptsWrites = async () => {
    const c = new pg.Client({ connectionString: await rw(), connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      return (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === false;
    } catch { return false; } finally { await c.end().catch(() => undefined); }
  };
  const until = async (what: string, ok: (c: PostgresCluster) => boolean | Promise<boolean>, timeoutS = 120) => {
    const end = Date.now() + timeoutS * 1000;
    let last: PostgresCluster | undefined;
    while (Date.now() < end) {
      last = await get();
      if (await ok(last)) return `${what} (phase ${last.status?.phase}, primary ${last.status?.currentPrimary})`;
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}; phase ${last?.status?.phase}: ${last?.status?.phaseReason}`);
  };

  const run = async (step: Step): Promise<string> => {
    if ('up' in step) {
      const manifests = readManifests([resolve(base, step.up.file)]);
      for (const m of manifests) await p.store.apply(m.raw);
      await waitForClusters(p.store, manifests.map((m) => m.resource), (step.up.timeout ?? 240) * 1000, () => undefined);
      return 'Ready';
    }
    if ('kill' in step) {
      const name = await ref(step.kill.instance);
      if (step.kill.as) remembered.set(step.kill.as, name);
      return killTarget(p, name, { signal: step.kill.signal ?? 'KILL', ...(step.kill.postgresOnly ? { postgresOnly: true } : {}), namespace });
    }
    if ('partition' in step) {
      const name = await ref(step.partition.instance);
      if (step.partition.as) remembered.set(step.partition.as, name);
      return partition(p, { instance: name, namespace, ...(step.partition.heal ? { heal: true } : {}) });
    }
    if ('failPromotion' in step) {
      const name = await ref(step.failPromotion.instance);
      if (step.failPromotion.as) remembered.set(step.failPromotion.as, name);
      return failPromotion(p, { instance: name, namespace, ...(step.failPromotion.heal ? { heal: true } : {}) });
    }
    if ('switchover' in step) {
      const to = step.switchover.to ? await ref(step.switchover.to) : undefined;
      const lines: string[] = [];
      const ran = switchover(p, { cluster: scenario.cluster, namespace, ...(to ? { to } : {}), timeoutMs: 180_000 }, (l) => lines.push(l));
      if (step.switchover.outcome !== 'rolledBack') { await ran; return lines.at(-1) ?? 'done'; }
      const ended = await ran.then(() => null, (e: Error) => e);
      if (!(ended instanceof SwitchoverNotPromoted && ended.outcome === 'rolledBack')) throw new Error(`the switchover was to roll back; it ended: ${ended?.message ?? lines.at(-1)}`);
      return ended.message;
    }
    if ('startWrites' in step) {
      writer = new RowWriter(rw, step.startWrites.table ?? 'scenario_writes');
      await writer.prepare();
      writer.start();
      return `writing to ${step.startWrites.table ?? 'scenario_writes'} every 10 ms`;
    }
    if ('stopWrites' in step) {
      if (!writer) throw new Error('no writes were started');
      const r = await writer.stop();
      writes = r.acked;
      return `${r.acked.length} acknowledged, ${r.failures.length} failed, longest gap ${r.longestGapMs} ms`;
    }
    if ('write' in step) {
      const c = new pg.Client({ connectionString: await rw() });
      await c.connect();
      try {
        await c.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(step.write.table)} (id int)`);
        await c.query(`INSERT INTO ${pg.escapeIdentifier(step.write.table)} SELECT generate_series(1, $1::int)`, [step.write.rows]);
      } finally { await c.end(); }
      return `${step.write.rows} rows`;
    }
    if ('sleep' in step) { await sleep(step.sleep * 1000); return `${step.sleep} s`; }
    if ('waitFor' in step) {
      const w = step.waitFor;
      const not = w.primaryNot ? await ref(w.primaryNot) : undefined;
      return until(JSON.stringify(w), async (c) =>
        (w.phase === undefined || c.status?.phase === w.phase)
        && (w.failovers === undefined || (c.status?.failovers ?? []).length >= w.failovers)
        && (not === undefined || (!!c.status?.currentPrimary && c.status.currentPrimary !== not))
        && (w.readyInstances === undefined || (c.status?.readyInstances ?? 0) >= w.readyInstances)
        && (!w.writable || await acceptsWrites()), w.timeout);
    }
    const e = step.expect;
    const c = await get();
    const fail = (why: string) => { throw new Error(why); };
    if (e.phase !== undefined && c.status?.phase !== e.phase) fail(`phase is ${c.status?.phase}, expected ${e.phase}`);
    if (e.primary !== undefined && c.status?.currentPrimary !== await ref(e.primary)) fail(`primary is ${c.status?.currentPrimary}, expected ${await ref(e.primary)}`);
    if (e.primaryNot !== undefined && c.status?.currentPrimary === await ref(e.primaryNot)) fail(`primary is still ${c.status?.currentPrimary}`);
    if (e.timelineAtLeast !== undefined && (c.status?.timeline ?? 0) < e.timelineAtLeast) fail(`timeline is ${c.status?.timeline}, expected at least ${e.timelineAtLeast}`);
    if (e.failovers !== undefined && (c.status?.failovers ?? []).length !== e.failovers) fail(`${(c.status?.failovers ?? []).length} failovers recorded, expected ${e.failovers}`);
    if (e.lastOutcome !== undefined && c.status?.failovers?.at(-1)?.outcome !== e.lastOutcome) fail(`last outcome ${c.status?.failovers?.at(-1)?.outcome}, expected ${e.lastOutcome}`);
    if (e.rows) {
      const app = new pg.Client({ connectionString: await rw() });
      await app.connect();
      try {
        const r = await app.query<{ n: string }>(`SELECT count(*) AS n FROM ${pg.escapeIdentifier(e.rows.table)}`);
        if (Number(r.rows[0]?.n) !== e.rows.count) fail(`${e.rows.table} has ${r.rows[0]?.n} rows, expected ${e.rows.count}`);
      } finally { await app.end(); }
    }
    if (e.noLostWrites) {
      const missing = await missingAcked(await rw(), writes, 'scenario_writes');
      if (missing.length) fail(`${missing.length} acknowledged writes are missing (first: ${missing.slice(0, 5).join(', ')})`);
    }
    return 'as expected';
  };

  out(`scenario: ${scenario.name}`);
  const results: StepResult[] = [];
  for (const [i, step] of scenario.steps.entries()) {
    const started = Date.now();
    try {
      const detail = await run(step);
      results.push({ index: i + 1, step: describe(step), ok: true, ms: Date.now() - started, detail });
      out(`  ✔ ${i + 1}. ${describe(step)} (${Date.now() - started} ms): ${detail}`);
    } catch (e) {
      results.push({ index: i + 1, step: describe(step), ok: false, ms: Date.now() - started, detail: (e as Error).message });
      out(`  ✖ ${i + 1}. ${describe(step)} (${Date.now() - started} ms): ${(e as Error).message}`);
      for (const [j, rest] of scenario.steps.slice(i + 1).entries()) out(`  - ${i + j + 2}. ${describe(rest)}: not run`);
      break;
    }
  }
  if (writer) await (writer as RowWriter).stop().catch(() => undefined);
  return results;
}
