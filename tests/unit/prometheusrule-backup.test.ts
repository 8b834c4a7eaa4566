// The backup alerts of the chart (templates/prometheusrule-backup.yaml), rendered by the real helm and run by the
// real promtool against synthetic series: each alert fires when it should and stays quiet when it should not.
// Skipped only when promtool is absent (Debian's `prometheus` package provides it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { helmBin, renderChart } from '../k8s/harness/helm.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0 ? 'promtool' : null;

const ns = 'namespace="default"';
const a = `{${ns},cluster="a"}`;
const b = `{${ns},cluster="b"}`;
const H = 3600;

/** Series, and the alerts expected at an evaluation time (minutes); time() starts at 0 in promtool. */
const cases = [
  {
    name: 'backup age: a 27 h old backup fires, a fresh one does not',
    series: [
      { series: `pgop_backup_last_success_timestamp_seconds${a}`, values: '0x1700' },
      { series: `pgop_backup_last_success_timestamp_seconds${b}`, values: `${26 * H}x1700` },
    ],
    alerts: [{ eval_time: '27h', alertname: 'PgopBackupTooOld', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'The newest backup of default/a is older than 26 hours' } }] }],
  },
  {
    name: 'a failure after the last success fires; one before it does not; a failure without any success fires',
    series: [
      { series: `pgop_backup_last_success_timestamp_seconds${a}`, values: '100x10' },
      { series: `pgop_backup_last_failure_timestamp_seconds${a}`, values: '200x10' },
      { series: `pgop_backup_last_success_timestamp_seconds${b}`, values: '300x10' },
      { series: `pgop_backup_last_failure_timestamp_seconds${b}`, values: '200x10' },
      { series: `pgop_backup_last_failure_timestamp_seconds{${ns},cluster="c"}`, values: '200x10' },
    ],
    alerts: [{ eval_time: '5m', alertname: 'PgopBackupFailed', exp_alerts: [
      { exp_labels: { severity: 'warning', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'The last BackupJob of default/a failed after its last successful backup' } },
      { exp_labels: { severity: 'warning', namespace: 'default', cluster: 'c' }, exp_annotations: { summary: 'The last BackupJob of default/c failed after its last successful backup' } },
    ] }],
  },
  {
    name: 'a backup longer than the threshold fires',
    series: [
      { series: `pgop_backup_last_duration_seconds${a}`, values: `${5 * H}x10` },
      { series: `pgop_backup_last_duration_seconds${b}`, values: '600x10' },
    ],
    alerts: [{ eval_time: '5m', alertname: 'PgopBackupSlow', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'The newest backup of default/a took 5h 0m 0s' } }] }],
  },
  {
    name: 'a backup more than twice yesterday\'s size fires',
    series: [
      { series: `pgop_backup_last_size_bytes${a}`, values: '1000x1440 3000x100' },
      { series: `pgop_backup_last_size_bytes${b}`, values: '1000x1440 1500x100' },
    ],
    alerts: [{ eval_time: '1450m', alertname: 'PgopBackupSizeJump', exp_alerts: [{ exp_labels: { severity: 'info', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'The newest backup of default/a is more than 2x the size it had a day ago' } }] }],
  },
  {
    name: 'segments piling up for 10 minutes fire; a short burst does not',
    series: [
      { series: 'pgop_instance_archive_pending_segments{cluster="a",instance="a-1"}', values: '50x30' },
      { series: 'pgop_instance_archive_pending_segments{cluster="b",instance="b-1"}', values: '50x3 0x27' },
    ],
    alerts: [{ eval_time: '20m', alertname: 'PgopArchiveLagging', exp_alerts: [{ exp_labels: { severity: 'warning', cluster: 'a', instance: 'a-1' }, exp_annotations: { summary: 'a-1 has 50 WAL segments waiting to be archived' } }] }],
  },
  {
    name: 'archiving failing for 5 minutes is critical',
    series: [
      { series: 'pgop_instance_archive_failing{cluster="a",instance="a-1"}', values: '1x20' },
      { series: 'pgop_instance_archive_failing{cluster="b",instance="b-1"}', values: '0x20' },
    ],
    alerts: [{ eval_time: '10m', alertname: 'PgopArchiveFailing', exp_alerts: [{ exp_labels: { severity: 'critical', cluster: 'a', instance: 'a-1' }, exp_annotations: { summary: 'WAL archiving of a-1 is failing: point-in-time recovery has a gap in the making' } }] }],
  },
  {
    name: 'a failed restore rehearsal is critical at once; a verified one is quiet',
    series: [
      { series: `pgop_restore_verification_success${a}`, values: '0x5' },
      { series: `pgop_restore_verification_success${b}`, values: '1x5' },
    ],
    alerts: [{ eval_time: '1m', alertname: 'PgopRestoreRehearsalFailed', exp_alerts: [{ exp_labels: { severity: 'critical', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'The latest backup of default/a could not be restored and verified (see its LastRestoreVerified condition)' } }] }],
  },
  {
    name: 'no rehearsal for more than 8 days fires',
    series: [
      { series: `pgop_restore_verification_last_run_timestamp_seconds${a}`, values: '0x13000' },
      { series: `pgop_restore_verification_last_run_timestamp_seconds${b}`, values: `${190 * H}x13000` },
    ],
    alerts: [{ eval_time: '200h', alertname: 'PgopRestoreRehearsalStale', exp_alerts: [{ exp_labels: { severity: 'warning', namespace: 'default', cluster: 'a' }, exp_annotations: { summary: 'No restore rehearsal of default/a finished in 192 hours' } }] }],
  },
];

test('the backup alerts fire on their conditions and only then (promtool test rules)', { skip: promtool ? false : 'promtool is not installed (apt-get install prometheus)' }, () => {
  const rendered = renderChart(helmBin(), 'pgop', 'pgop-system', ['--set', 'metrics.prometheusRule.enabled=true']);
  const rule = rendered.objects.find((o) => o.kind === 'PrometheusRule' && o.metadata.name === 'pgop-backup') as { spec: { groups: { rules: { alert: string }[] }[] } } | undefined;
  assert.ok(rule, 'the chart renders the pgop-backup PrometheusRule');
  const alerts = rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
  assert.deepEqual(new Set(cases.flatMap((c) => c.alerts.map((x) => x.alertname))), new Set(alerts), 'every alert has a promtool case');
  const dir = mkdtempSync(join(tmpdir(), 'pgop-promtool-'));
  try {
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    writeFileSync(join(dir, 'tests.yaml'), stringify({
      rule_files: ['rules.yaml'], evaluation_interval: '1m',
      tests: cases.map((c) => ({ name: c.name, interval: '1m', input_series: c.series, alert_rule_test: c.alerts })),
    }));
    const r = spawnSync(promtool ?? 'promtool', ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    // A rule file promtool rejects would also fail above; check says why in plain words.
    const check = spawnSync(promtool ?? 'promtool', ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without prometheusRule.enabled the chart renders no backup rules', () => {
  if (!promtool) return;
  const rendered = renderChart(helmBin(), 'pgop', 'pgop-system');
  assert.ok(!rendered.objects.some((o) => o.kind === 'PrometheusRule'));
});
