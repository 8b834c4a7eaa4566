// The chart's alerts and dashboards, checked against real tools and the code: every PrometheusRule the chart renders
// (whichever template it comes from) passes `promtool check rules` and the unit tests in tests/promtool/, every
// alert has a test there, and every metric name an alert or a dashboard uses is one the code registers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { helmBin, renderChart, type Rendered } from './harness/helm.js';
import { repoRoot } from '../helpers/cli.js';

const PROMTOOL = process.env.PGOP_PROMTOOL ?? 'promtool';
const testsDir = join(repoRoot, 'tests', 'promtool');

interface Rule { alert?: string; record?: string; expr: string }
interface RuleGroup { name: string; rules: Rule[] }

const rendered = renderChart(helmBin(), 'pgop', 'pgop-system', [
  '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.podMonitor.enabled=true', '--set', 'metrics.grafanaDashboards.enabled=true',
]).objects;
const ruleObjects = rendered.filter((o) => o.kind === 'PrometheusRule') as (Rendered & { spec: { groups: RuleGroup[] } })[];
const rules = ruleObjects.flatMap((o) => o.spec.groups.flatMap((g) => g.rules));
const dashboards = rendered.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('pgop-dashboard-')) as (Rendered & { data: Record<string, string> })[];

function promtool(args: string[], cwd: string) {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`${PROMTOOL}: ${r.error.message} (Debian's prometheus package; scripts/setup.sh installs it)`);
  return r;
}

test('every rendered rules file passes promtool check and the promtool unit tests; every alert is tested', () => {
  assert.ok(ruleObjects.length >= 1, 'the chart renders a PrometheusRule');
  const dir = mkdtempSync(join(tmpdir(), 'pgop-promtool-'));
  for (const o of ruleObjects) {
    const file = `${o.metadata.name}.rules.yaml`;
    writeFileSync(join(dir, file), stringify({ groups: o.spec.groups }));
    const check = promtool(['check', 'rules', file], dir);
    assert.equal(check.status, 0, `${file}: ${check.stdout}${check.stderr}`);
  }
  const tests = readdirSync(testsDir).filter((f) => f.endsWith('.test.yaml'));
  assert.ok(tests.length >= 1);
  for (const t of tests) copyFileSync(join(testsDir, t), join(dir, t));
  const run = promtool(['test', 'rules', ...tests], dir);
  assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);

  const tested = new Set(tests.flatMap((t) => ((parse(readFileSync(join(testsDir, t), 'utf8')) as { tests?: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests ?? [])
    .flatMap((c) => (c.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname))));
  const untested = rules.flatMap((r) => (r.alert && !tested.has(r.alert) ? [r.alert] : []));
  assert.deepEqual(untested, [], 'every alert has a promtool case in which it fires (tests/promtool/*.test.yaml)');
  for (const required of ['PgopPrimaryMissing', 'PgopFailoverWaitingForSafeCandidate', 'PgopReplicationLagHigh', 'PgopInstanceLagMetricMissing', 'PgopPoolerSaturated', 'PgopCertificateExpiresSoon']) {
    assert.ok(rules.some((r) => r.alert === required), `${required} is shipped`);
  }
});

/** Metric names the code registers: quoted pgop_* names in files using prom-client, plus its default metrics. */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) { if (e !== 'node_modules') walk(p); continue; }
      if (!e.endsWith('.ts') || e.endsWith('.test.ts')) continue;
      const text = readFileSync(p, 'utf8');
      if (!text.includes("from 'prom-client'")) continue;
      for (const m of text.matchAll(/'(pgop_[a-z0-9_]+)'/g)) {
        const name = m[1]!;
        if (name.endsWith('_')) {
          // A collectDefaultMetrics prefix: its names are prom-client's own.
          const r = new Registry();
          collectDefaultMetrics({ register: r, prefix: name });
          for (const metric of r.getMetricsAsArray()) names.add(metric.name);
        } else names.add(name);
      }
    }
  };
  for (const d of ['adapters', 'instance', 'router', 'actors', 'bin']) walk(join(repoRoot, d));
  return names;
}

/** Every identifier in a PromQL expression that names a pgop metric. */
const pgopNames = (expr: string) => [...expr.matchAll(/\b(pgop_[a-z0-9_]+)\b/g)].map((m) => m[1]!);

function dashboardExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const cm of dashboards) {
    for (const [file, json] of Object.entries(cm.data)) {
      const d = JSON.parse(json) as { panels: { title: string; targets: { expr: string }[] }[]; templating: { list: { name: string; query?: unknown }[] } };
      for (const p of d.panels) for (const t of p.targets) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
      for (const v of d.templating.list) {
        const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
        if (q) out.push({ where: `${file}: variable ${v.name}`, expr: q });
      }
    }
  }
  return out;
}

test('every metric an alert or a dashboard refers to is registered by the code', () => {
  const known = registeredMetrics();
  assert.ok(known.has('pgop_instance_lag_bytes') && known.has('pgop_pooler_up') && known.has('pgop_agent_process_cpu_seconds_total'), 'the scan finds the registries');
  const isKnown = (n: string) => known.has(n) || ['_bucket', '_sum', '_count'].some((s) => n.endsWith(s) && known.has(n.slice(0, -s.length)));
  assert.deepEqual(dashboards.map((d) => d.metadata.name).sort(), ['pgop-dashboard-cluster-overview', 'pgop-dashboard-instance', 'pgop-dashboard-pooler']);
  const uses = [...rules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: r.expr })), ...dashboardExpressions()];
  const unknown = uses.flatMap((u) => pgopNames(u.expr).filter((n) => !isKnown(n)).map((n) => `${u.where}: ${n}`));
  assert.deepEqual(unknown, []);
  // And the check itself bites: a name the code does not register is caught.
  assert.equal(isKnown('pgop_instance_lag_seconds'), false);
});

test('without metrics.prometheusRule.enabled the chart renders no rules', () => {
  assert.ok(!renderChart(helmBin(), 'pgop', 'pgop-system').objects.some((o) => o.kind === 'PrometheusRule'));
});
