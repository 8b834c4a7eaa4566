// The kubectl plugin's verbs (`kubectl pgop VERB`, or `pgop kube VERB`), against the current kubeconfig. They ask
// the operator through the objects it watches — the switchover, fencing and hibernation annotations, a BackupJob —
// and follow the answer in status; nothing here acts on PostgreSQL behind the operator's back.
import { randomUUID, X509Certificate } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { GROUP, VERSION } from '../../crds/definition.js';
import { SWITCHOVER_ANNOTATION } from '../../actors/bindings/postgrescluster.binding.js';
import { LABEL } from '../../adapters/k8s/specs/labels.js';
import { caSecretName, secretName, serverSecretName } from '../../adapters/k8s/specs/names.js';
import type { KubeCluster } from './kube-client.js';
import { renderStatus } from './kube-status.js';
import type { LogsOptions } from './kube-logs.js';

export const FENCED_ANNOTATION = 'postgres.keiailab.io/fenced-instances';
export const HIBERNATION_ANNOTATION = 'postgres.keiailab.io/hibernation';
const INSTANCE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface Common { kubeconfig?: string; context?: string; namespace?: string }
const out = (s: string) => process.stdout.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// @kubernetes/client-node takes most of a second to load: only the verb that talks to the API loads it.
async function cluster(name: string, o: Common): Promise<KubeCluster> {
  const { kubeTarget, KubeCluster } = await import('./kube-client.js');
  return new KubeCluster(kubeTarget(o), name);
}

function withCommon(cmd: Command): Command {
  return cmd
    .addOption(new Option('-n, --namespace <ns>', 'namespace (default: the context\'s)'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG, then ~/.kube/config)'))
    .addOption(new Option('--context <name>', 'kubeconfig context'));
}

async function status(name: string, o: Common): Promise<void> {
  const k = await cluster(name, o);
  const c = await k.get();
  const pem = await k.secret(c.spec.certificates?.serverTLSSecret ?? serverSecretName(name), 'tls.crt');
  let certificate = null;
  if (pem) {
    const x = new X509Certificate(pem);
    certificate = { subject: x.subject.replace(/\n/g, ', '), notAfter: new Date(x.validTo).toISOString(), names: x.subjectAltName ?? '' };
  }
  const backups = await k.list('backupjobs').catch(() => []);
  const poolers = await k.list('poolers').catch(() => []);
  out(renderStatus({ cluster: c, backups, certificate, poolers }));
}

/** Writes the switchover request the operator watches, then follows status until the plan's record appears. */
async function switchover(name: string, o: Common & { to?: string; wait: boolean; timeout: string }): Promise<void> {
  const k = await cluster(name, o);
  const before = await k.get();
  const instances = (before.status?.instances ?? []).map((i) => i.name);
  if (o.to && !instances.includes(o.to)) throw new Error(`${o.to} is not an instance of ${name} (instances: ${instances.join(', ') || 'none yet'})`);
  if (o.to && o.to === before.status?.currentPrimary) throw new Error(`${o.to} is already the primary`);
  const id = randomUUID().slice(0, 8);
  const seen = before.status?.failovers?.length ?? 0;
  await k.annotate({ [SWITCHOVER_ANNOTATION]: JSON.stringify({ id, to: o.to ?? null, at: new Date().toISOString() }) });
  out(`switchover ${id} requested: ${before.status?.currentPrimary ?? '?'} → ${o.to ?? 'the most advanced replica'}`);
  if (!o.wait) return;
  const started = Date.now();
  let last = '';
  for (;;) {
    const c = await k.get();
    // The history is capped: look for this request's id among the records, not at a count.
    const record = (c.status?.failovers ?? []).slice(Math.max(0, seen - 10)).find((f) => f.reason.includes(id));
    const line = `${c.status?.phase ?? '?'}: ${c.status?.phaseReason ?? ''}`;
    if (line !== last) { out(`[${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s] ${line}`); last = line; }
    if (record) {
      if (record.outcome !== 'promoted') throw new Error(`switchover ${id} ${record.outcome}: ${record.reason}`);
      out(`switchover ${id} done: ${record.from} → ${record.to} on timeline ${record.timeline} in ${record.durationMs} ms`);
      return;
    }
    if (Date.now() - started > Number(o.timeout) * 1000) throw new Error(`switchover ${id} did not finish within ${o.timeout} s (it may still; see kubectl pgop status ${name})`);
    await sleep(500);
  }
}

function checkInstances(list: string[]): string[] {
  for (const i of list) if (i !== '*' && !INSTANCE.test(i)) throw new Error(`"${i}" is not an instance name (or "*" for every instance)`);
  return list;
}

async function fence(name: string, instances: string[], on: boolean, o: Common): Promise<void> {
  const k = await cluster(name, o);
  const c = await k.get();
  let current: string[] = [];
  const raw = c.metadata.annotations?.[FENCED_ANNOTATION];
  if (raw) {
    try { current = JSON.parse(raw) as string[]; } catch { throw new Error(`the cluster's ${FENCED_ANNOTATION} annotation is not a JSON list (${raw}); fix it with kubectl annotate`); }
  }
  const wanted = checkInstances(instances);
  const next = on ? [...new Set([...current, ...wanted])] : wanted.includes('*') ? [] : current.filter((i) => !wanted.includes(i));
  await k.annotate({ [FENCED_ANNOTATION]: next.length ? JSON.stringify(next) : null });
  out(next.length ? `fenced instances of ${name}: ${next.join(', ')}` : `no instance of ${name} is fenced`);
}

async function hibernate(name: string, mode: string, o: Common): Promise<void> {
  if (mode !== 'on' && mode !== 'off') throw new Error(`hibernate takes on or off, not "${mode}"`);
  await (await cluster(name, o)).annotate({ [HIBERNATION_ANNOTATION]: mode });
  out(`hibernation ${mode} requested for ${name}`);
}

/** A replica restarts by losing its pod: the operator recreates it on the same volume. The primary is refused. */
async function restart(name: string, instance: string, o: Common & { timeout: string }): Promise<void> {
  const k = await cluster(name, o);
  const c = await k.get();
  if (instance === c.status?.currentPrimary) throw new Error(`${instance} is the primary: switch over first (kubectl pgop switchover ${name}), then restart it as a replica`);
  const pod = (await k.pods()).find((p) => p.metadata?.name === instance);
  if (!pod) throw new Error(`${instance} has no running pod in ${name}`);
  const uid = pod.metadata?.uid;
  await k.core.deleteNamespacedPod({ namespace: k.t.namespace, name: instance });
  out(`pod ${instance} deleted; waiting for the operator to recreate it`);
  const until = Date.now() + Number(o.timeout) * 1000;
  for (;;) {
    const now = (await k.get()).status?.instances?.find((i) => i.name === instance);
    const p = (await k.pods()).find((x) => x.metadata?.name === instance);
    if (p && p.metadata?.uid !== uid && now?.ready) { out(`${instance} is back and ${now.phase}`); return; }
    if (Date.now() > until) throw new Error(`${instance} did not come back within ${o.timeout} s`);
    await sleep(1000);
  }
}

async function backup(name: string, o: Common & { type: string }): Promise<void> {
  const k = await cluster(name, o);
  await k.get();
  const jobName = `${name}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
  await k.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: k.t.namespace, plural: 'backupjobs',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'BackupJob', metadata: { name: jobName }, spec: { cluster: { name }, backupType: o.type } } });
  out(`backupjob/${jobName} created (follow it with kubectl get backupjob ${jobName} -w)`);
}

/**
 * Through `kubectl exec` by default (pod IPs are rarely reachable from a workstation); `--direct` dials the pod IP
 * with TLS verified against the cluster CA, the superuser password in PGPASSWORD (never in argv).
 */
async function psql(name: string, args: string[], o: Common & { replica?: boolean; direct?: boolean }): Promise<number> {
  const k = await cluster(name, o);
  const c = await k.get();
  const pods = await k.pods();
  const role = o.replica ? 'replica' : 'primary';
  const pod = pods.find((p) => p.metadata?.labels?.[LABEL.role] === role && p.status?.podIP);
  if (!pod) throw new Error(`${name} has no running ${role}${o.replica ? ' (is instances > 1?)' : ''}`);
  const run = (cmd: string, argv: string[], env: NodeJS.ProcessEnv) => new Promise<number>((resolve) => {
    const child = spawn(cmd, argv, { stdio: 'inherit', env });
    child.once('exit', (code) => resolve(code ?? 1));
    child.once('error', (e) => { process.stderr.write(`${cmd}: ${e.message}\n`); resolve(127); });
  });
  if (!o.direct) {
    const kubectl = process.env.KUBECTL ?? 'kubectl';
    return run(kubectl, ['exec', '-it', '-n', k.t.namespace, pod.metadata?.name ?? '', '-c', 'postgres', '--', 'psql', '-U', 'postgres', ...args], process.env);
  }
  const password = await k.secret(secretName(name, 'superuser'), 'password');
  const ca = await k.secret(c.spec.certificates?.serverCASecret ?? c.spec.certificates?.serverTLSSecret ?? caSecretName(name), 'ca.crt');
  if (!password) throw new Error(`cannot read Secret ${secretName(name, 'superuser')}`);
  const dir = mkdtempSync(join(tmpdir(), 'pgop-psql-'));
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: pod.status?.podIP, PGPORT: '5432', PGUSER: 'postgres', PGDATABASE: 'postgres', PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' };
    if (ca) { writeFileSync(join(dir, 'ca.crt'), ca, { mode: 0o600 }); Object.assign(env, { PGSSLMODE: 'verify-full', PGSSLROOTCERT: join(dir, 'ca.crt') }); } else env.PGSSLMODE = 'require';
    return await run(process.env.PSQL ?? 'psql', args, env);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

async function logs(name: string, instance: string | undefined, o: Common & LogsOptions & { instance?: string }): Promise<void> {
  const only = instance ?? o.instance;
  if (only !== undefined && !INSTANCE.test(only)) throw new Error(`"${only}" is not an instance name`);
  const { podLogs, tailOption } = await import('./kube-logs.js');
  tailOption(o.tail);
  const k = await cluster(name, o);
  await k.get();
  const all = await k.pods();
  const pods = all.filter((p) => !only || p.metadata?.name === only);
  if (!pods.length) {
    throw new Error(only ? `${only} has no pod in ${name} (pods: ${all.map((p) => p.metadata?.name).join(', ') || 'none'})` : `${name} has no pods`);
  }
  const failed = await podLogs(k, pods, o, out, (line) => process.stderr.write(`${line}\n`));
  if (failed.length) process.exitCode = 1;
}

/** Registers the verbs on `program` (the plugin's root, or `pgop kube`). */
export function registerKubeVerbs(program: Command): void {
  withCommon(program.command('status').argument('<cluster>').description('instances, roles, lag, timeline, last failovers, backups, certificate'))
    .action((name: string, o: Common) => status(name, o));
  withCommon(program.command('switchover').argument('<cluster>').description('planned switchover to the most advanced replica (or --to), followed to its end')
    .option('--to <instance>', 'the replica to promote').option('--no-wait', 'return once requested').option('--timeout <seconds>', 'how long to follow', '300'))
    .action((name: string, o: Common & { to?: string; wait: boolean; timeout: string }) => switchover(name, o));
  withCommon(program.command('promote').argument('<cluster>').argument('<instance>').description('make INSTANCE the primary (a switchover to it)')
    .option('--no-wait', 'return once requested').option('--timeout <seconds>', 'how long to follow', '300'))
    .action((name: string, instance: string, o: Common & { wait: boolean; timeout: string }) => switchover(name, { ...o, to: instance }));
  withCommon(program.command('restart').argument('<cluster>').argument('<instance>').description('restart a replica (its pod is recreated on the same volume)')
    .option('--timeout <seconds>', 'how long to wait for it', '300'))
    .action((name: string, instance: string, o: Common & { timeout: string }) => restart(name, instance, o));
  withCommon(program.command('fence').argument('<cluster>').argument('<instances...>').description('stop postgres on instances (or "*") without deleting them'))
    .action((name: string, instances: string[], o: Common) => fence(name, instances, true, o));
  withCommon(program.command('unfence').argument('<cluster>').argument('<instances...>').description('lift fencing from instances (or "*")'))
    .action((name: string, instances: string[], o: Common) => fence(name, instances, false, o));
  withCommon(program.command('hibernate').argument('<cluster>').argument('<mode>', 'on or off').description('stop every instance cleanly, keeping the data (on), or wake (off)'))
    .action((name: string, mode: string, o: Common) => hibernate(name, mode, o));
  withCommon(program.command('psql').argument('<cluster>').argument('[psqlArgs...]', 'passed to psql (after --)').description('psql on the primary (or --replica) as the superuser')
    .option('--replica', 'a replica instead of the primary').option('--direct', 'dial the pod IP with TLS instead of kubectl exec'))
    .action(async (name: string, args: string[], o: Common & { replica?: boolean; direct?: boolean }) => { process.exitCode = await psql(name, args, o); });
  withCommon(program.command('backup').argument('<cluster>').description('take a backup now (creates a BackupJob)')
    .option('--type <type>', 'full, diff or incr', 'full'))
    .action((name: string, o: Common & { type: string }) => backup(name, o));
  withCommon(program.command('logs').argument('<cluster>').argument('[instance]', 'one instance only')
    .description('each instance\'s log (agent and postgres), its lines prefixed with the instance name')
    .option('--instance <name>', 'one instance only (same as INSTANCE)').option('--tail <lines>', 'lines per instance, -1 for all', '100')
    .option('-f, --follow', 'keep streaming new lines until the containers end'))
    .action((name: string, instance: string | undefined, o: Common & LogsOptions & { instance?: string }) => logs(name, instance, o));
}
