// `pgop local …`: the embedded default platform (operator daemon, agents, private redis) on this machine.
import type { Command } from 'commander';
import { Option } from 'commander';
import { stringify } from 'yaml';
import { StateDir, DEFAULT_STATE_DIR } from '../../adapters/local/state-dir.js';
import { openPlatform, ensureDaemon, down, daemonRunning, daemonInfo, type Platform } from '../../adapters/local/control.js';
import { readManifests, admitAgainstStore } from '../../adapters/local/manifests.js';
import { resolveKind, definitions } from '../../crds/registry.js';
import type { Resource } from '../../crds/definition.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { Pooler } from '../../crds/pooler.js';
import { clusterTable } from './local-view.js';
import { genericTable } from './printer-columns.js';
import { waitForClusters } from './local-wait.js';
import { connectionUri, routerUri, readOnlyRouterUri, shardClusterOf } from './local-connect.js';
import { routerPort, readOnlyRouterKey } from '../../adapters/local/routers.js';
import { killTarget } from './local-kill.js';
import { switchover } from './local-switchover.js';
import { fence, hibernate } from './local-power.js';
import { partition } from './local-partition.js';
import { runScenario } from './scenario/scenario-runner.js';
import { backup, listBackups } from './local-backup.js';

const stateOpt = () => new Option('--state-dir <dir>', 'state directory of the local platform').env('PGOP_STATE_DIR').default(DEFAULT_STATE_DIR);
const nsOpt = () => new Option('-n, --namespace <ns>', 'namespace').default('default');
const out = (s: string) => process.stdout.write(`${s}\n`);

async function withPlatform<T>(dir: string, start: boolean, fn: (p: Platform) => Promise<T>): Promise<T> {
  const p = await openPlatform(new StateDir(dir), { start });
  try { return await fn(p); } finally { await p.store.close(); }
}

function kindOrFail(input: string) {
  const def = resolveKind(input);
  if (!def) throw new Error(`unknown kind "${input}"; known: ${definitions.map((d) => `${d.kind} (${[d.plural, ...d.shortNames].join(', ')})`).join('; ')}`);
  return def;
}

async function applyAll(p: Platform, files: string[]) {
  const manifests = readManifests(files, p.state);
  await admitAgainstStore(manifests, p.store);
  const applied: Resource[] = [];
  for (const m of manifests) {
    const { resource, action } = await p.store.apply(m.raw);
    out(`${resource.kind.toLowerCase()}/${resource.metadata.name} ${action}`);
    applied.push(resource);
  }
  return applied;
}

export function registerLocalCommands(program: Command): void {
  const local = program.command('local').description('the embedded platform: PostgreSQL clusters as local processes, no Kubernetes needed');

  local.command('up')
    .description('start the local platform (private redis + operator daemon), apply manifests, optionally wait until Ready')
    .option('-f, --filename <file...>', 'manifests to apply (YAML or JSON)', [])
    .addOption(stateOpt())
    .option('--wait', 'block until every applied cluster is Ready')
    .option('--timeout <seconds>', 'how long --wait waits', '600')
    .option('--inspect [port]', 'stream every actor to the Stately inspector through a loopback relay (default port 8080)')
    .action(async (o: { filename: string[]; stateDir: string; wait?: boolean; timeout: string; inspect?: string | boolean }) => {
      // Validate before starting anything: bad input must leave no process behind.
      if (o.filename.length) readManifests(o.filename, new StateDir(o.stateDir));
      await withPlatform(o.stateDir, true, async (p) => {
        const inspectPort = o.inspect === undefined || o.inspect === false ? undefined : o.inspect === true ? 8080 : Number(o.inspect);
        const pid = await ensureDaemon(p, inspectPort !== undefined ? ['--inspect', String(inspectPort)] : []);
        const info = await daemonInfo(p);
        out(`operator running (pid ${pid}), state in ${p.state.root}; metrics on http://127.0.0.1:${info?.metricsPort}/metrics`);
        if (inspectPort !== undefined && info?.inspectPort === undefined) out('warning: the operator was already running without --inspect; `pgop local kill operator --signal TERM` and run up again');
        if (info?.inspectPort !== undefined) out(`inspector: open http://127.0.0.1:${info.inspectPort} (it embeds https://stately.ai/inspect)`);
        const applied = o.filename.length ? await applyAll(p, o.filename) : [];
        const clusters = applied.filter((r) => r.kind === 'PostgresCluster');
        if (o.wait && clusters.length) {
          const final = await waitForClusters(p.store, clusters, Number(o.timeout) * 1000, out);
          out('');
          out(clusterTable(final));
          for (const c of final as PostgresCluster[]) {
            out('');
            if (c.spec.sharding) {
              for (const s of c.status?.shards ?? []) out(`${c.metadata.name}: shard ${s.name.padEnd(6)} pgop local connect ${c.metadata.name} --shard ${s.name}`);
              out(`${c.metadata.name}: router       pgop local connect ${c.metadata.name} --router`);
              continue;
            }
            out(`${c.metadata.name}: read-write  ${connectionUri(p, c, 'primary')}`);
            out(`${' '.repeat(c.metadata.name.length)}  read-only   ${connectionUri(p, c, 'replica')}`);
            if (c.spec.router?.enabled) out(`${' '.repeat(c.metadata.name.length)}  router      pgop local connect ${c.metadata.name} --router`);
            if (c.spec.router?.enabled && c.spec.router.readOnly) out(`${' '.repeat(c.metadata.name.length)}  router ro   pgop local connect ${c.metadata.name} --router --read-only`);
          }
        } else if (!o.filename.length) {
          out(clusterTable(await p.store.list('PostgresCluster')));
        }
      });
    });

  local.command('apply')
    .description('create or update resources from manifests')
    .requiredOption('-f, --filename <file...>', 'manifests to apply')
    .addOption(stateOpt())
    .action(async (o: { filename: string[]; stateDir: string }) => {
      readManifests(o.filename, new StateDir(o.stateDir));
      await withPlatform(o.stateDir, false, async (p) => {
        if (!(await daemonRunning(p))) out('warning: the operator is not running; start it with `pgop local up`');
        await applyAll(p, o.filename);
      });
    });

  local.command('delete')
    .description('delete a resource; its instances and data go with it (unless storage.retainOnDelete)')
    .argument('<kind>').argument('<name>')
    .addOption(nsOpt()).addOption(stateOpt())
    .option('--wait', 'block until it is gone')
    .option('--timeout <seconds>', 'how long --wait waits', '300')
    .action(async (kind: string, name: string, o: { namespace: string; stateDir: string; wait?: boolean; timeout: string }) => {
      const def = kindOrFail(kind);
      await withPlatform(o.stateDir, false, async (p) => {
        const key = { kind: def.kind, namespace: o.namespace, name };
        const result = await p.store.delete(key);
        if (result === 'absent') throw new Error(`${def.singular} "${name}" not found in namespace ${o.namespace}`);
        out(`${def.singular}/${name} ${result === 'deleted' ? 'deleted' : 'deleting'}`);
        if (o.wait && result === 'deleting') {
          const until = Date.now() + Number(o.timeout) * 1000;
          while (await p.store.get(key)) {
            if (Date.now() > until) throw new Error(`${def.singular}/${name} still exists after ${o.timeout}s`);
            await new Promise((r) => setTimeout(r, 500));
          }
          out(`${def.singular}/${name} deleted`);
        }
      });
    });

  local.command('get')
    .description('list resources (a table like kubectl) or show one with its status')
    .argument('[kind]', 'a kind, plural or short name (pgc, pgbackup, pgdb, pguser, pgpool, …)', 'postgrescluster')
    .argument('[name]')
    .addOption(nsOpt()).addOption(stateOpt())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'yaml', 'table']).default('table'))
    .action(async (kind: string, name: string | undefined, o: { namespace: string; stateDir: string; output: string }) => {
      const def = kindOrFail(kind);
      await withPlatform(o.stateDir, false, async (p) => {
        let items = (await p.store.list(def.kind)).filter((r) => def.scope === 'Cluster' || r.metadata.namespace === o.namespace);
        if (name) {
          items = items.filter((r) => r.metadata.name === name);
          if (!items.length) throw new Error(`${def.singular} "${name}" not found in namespace ${o.namespace}`);
        }
        if (o.output === 'json') out(JSON.stringify(name ? items[0] : { apiVersion: 'v1', kind: 'List', items }, null, 2));
        else if (o.output === 'yaml') out(stringify(name ? items[0] : { apiVersion: 'v1', kind: 'List', items }).trimEnd());
        else if (!items.length) out(`No resources found in ${def.scope === 'Cluster' ? 'the cluster' : `${o.namespace} namespace`}.`);
        else out(def.kind === 'PostgresCluster' ? clusterTable(items) : genericTable(def, items));
      });
    });

  local.command('connect')
    .description('print a libpq URI for a cluster (read-write endpoint by default)')
    .argument('<cluster>')
    .addOption(new Option('--role <role>', 'primary (read-write) or replica (read-only)').choices(['primary', 'replica']).default('primary'))
    .option('--user <name>', 'the application owner by default; postgres for the superuser')
    .option('--pooler <name>', 'through this Pooler (PgBouncer) in front of the cluster')
    .option('--shard <range>', 'a sharded cluster: one shard\'s own endpoint, by its key range (-80, 80-, ...)')
    .option('--router', 'through the cluster\'s router (pgop router): a sharded cluster\'s, or an unsharded one\'s with spec.router.enabled')
    .option('--read-only', 'with --router: the read-only router in front of the replicas (spec.router.readOnly)')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (cluster: string, o: { role: 'primary' | 'replica'; user?: string; pooler?: string; shard?: string; router?: boolean; readOnly?: boolean; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, async (p) => {
        let c = await p.store.get({ kind: 'PostgresCluster', namespace: o.namespace, name: cluster });
        if (!c) throw new Error(`postgrescluster "${cluster}" not found in namespace ${o.namespace}`);
        if (o.router && o.shard) throw new Error('--router and --shard exclude each other: the router picks shards itself');
        if (o.readOnly && !o.router) throw new Error('--read-only goes with --router (the read-only router); for the -ro endpoint itself use --role replica');
        if (o.router) {
          if (o.readOnly) { out(readOnlyRouterUri(p, c as PostgresCluster, routerPort(p.state, o.namespace, readOnlyRouterKey(cluster)), o.user)); return; }
          out(routerUri(p, c as PostgresCluster, routerPort(p.state, o.namespace, cluster), o.user));
          return;
        }
        if (o.shard) {
          const name = shardClusterOf(c as PostgresCluster, o.shard);
          c = await p.store.get({ kind: 'PostgresCluster', namespace: o.namespace, name });
          if (!c) throw new Error(`shard ${o.shard} of ${cluster} (postgrescluster "${name}") does not exist yet`);
        } else if ((c.spec as PostgresCluster['spec']).sharding) {
          throw new Error(`cluster ${cluster} is sharded: connect with --router, or to one shard with --shard (${(c.status as { shards?: { name: string }[] } | undefined)?.shards?.map((x) => x.name).join(', ') || 'e.g. -80'})`);
        }
        const pooler = o.pooler ? await p.store.get({ kind: 'Pooler', namespace: o.namespace, name: o.pooler }) : undefined;
        if (o.pooler && !pooler) throw new Error(`pooler "${o.pooler}" not found in namespace ${o.namespace}`);
        out(connectionUri(p, c as PostgresCluster, o.role, o.user, pooler as Pooler | undefined));
      });
    });

  local.command('kill')
    .description('drills: signal an instance (STOP/CONT/KILL reach the agent, the postmaster and every postgres process: a frozen or lost pod) or the operator')
    .argument('<target>', 'an instance name, or "operator"')
    .addOption(new Option('--signal <signal>', 'signal to send').choices(['KILL', 'TERM', 'STOP', 'CONT', 'INT', 'QUIT']).default('KILL'))
    .option('--postgres-only', 'signal only the postmaster; the agent stays up and restarts it')
    .option('--for <seconds>', 'with --signal STOP: freeze for this many seconds, then continue every process')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (target: string, o: { signal: string; postgresOnly?: boolean; for?: string; namespace: string; stateDir: string }) => {
      const forSeconds = o.for === undefined ? undefined : Number(o.for);
      if (forSeconds !== undefined && !(Number.isFinite(forSeconds) && forSeconds > 0 && forSeconds <= 3600)) throw new Error(`--for: "${o.for}" is not a number of seconds between 0 and 3600`);
      await withPlatform(o.stateDir, false, async (p) => out(await killTarget(p, target, { ...o, ...(forSeconds !== undefined ? { forSeconds } : {}) })));
    });

  local.command('switchover')
    .description('planned switchover with zero data loss; waits until it is done')
    .argument('<cluster>')
    .option('--to <instance>', 'the replica to promote (default: the most advanced one)')
    .option('--timeout <seconds>', 'how long to wait', '180')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (cluster: string, o: { to?: string; timeout: string; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, (p) => switchover(p, { cluster, namespace: o.namespace, ...(o.to ? { to: o.to } : {}), timeoutMs: Number(o.timeout) * 1000 }, out));
    });

  for (const [verb, on] of [['fence', true], ['unfence', false]] as const) {
    local.command(verb)
      .description(on ? 'stop postgres on instances (or "*") without deleting them; no routes, never a failover candidate'
        : 'lift fencing from instances (or "*"): they start again and rejoin')
      .argument('<cluster>').argument('<instances...>')
      .option('--wait', 'follow status until the change took effect')
      .option('--timeout <seconds>', 'how long to wait', '120')
      .addOption(nsOpt()).addOption(stateOpt())
      .action(async (cluster: string, instances: string[], o: { wait?: boolean; timeout: string; namespace: string; stateDir: string }) => {
        await withPlatform(o.stateDir, false, (p) => fence(p, { cluster, namespace: o.namespace, instances, fence: on, wait: !!o.wait, timeoutMs: Number(o.timeout) * 1000 }, out));
      });
  }

  local.command('hibernate')
    .description('on: stop every instance cleanly (primary first), keeping the data; off: wake the same primary first')
    .argument('<cluster>').argument('<mode>', 'on or off')
    .option('--wait', 'follow status until Hibernated (on) or Ready (off)')
    .option('--timeout <seconds>', 'how long to wait', '180')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (cluster: string, mode: string, o: { wait?: boolean; timeout: string; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, (p) => hibernate(p, { cluster, namespace: o.namespace, mode, wait: !!o.wait, timeoutMs: Number(o.timeout) * 1000 }, out));
    });

  local.command('partition')
    .description('drills: cut an instance off from the lease store, as a network partition would (--heal undoes it)')
    .argument('<instance>')
    .option('--heal', 'reconnect it')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (instance: string, o: { heal?: boolean; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, async (p) => out(await partition(p, { instance, namespace: o.namespace, ...(o.heal ? { heal: true } : {}) })));
    });

  local.command('backup')
    .description('take a pgBackRest backup of a cluster (a BackupJob); --wait follows it with progress')
    .argument('<cluster>')
    .addOption(new Option('--type <type>', 'backup type').choices(['full', 'diff', 'incr']).default('full'))
    .addOption(new Option('--target <target>', 'where to copy files from').choices(['prefer-standby', 'primary']).default('prefer-standby'))
    .option('--wait', 'block until the backup succeeded or failed')
    .option('--timeout <seconds>', 'how long --wait waits', '3600')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (cluster: string, o: { type: 'full' | 'diff' | 'incr'; target: 'prefer-standby' | 'primary'; wait?: boolean; timeout: string; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, (p) => backup(p, { cluster, namespace: o.namespace, type: o.type, target: o.target, wait: !!o.wait, timeoutMs: Number(o.timeout) * 1000 }, out));
    });

  local.command('backups')
    .description("list the backups in a cluster's repository (label, type, time, size, LSN range)")
    .argument('<cluster>')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['json', 'table']).default('table'))
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (cluster: string, o: { output: string; namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, false, (p) => listBackups(p, { cluster, namespace: o.namespace, output: o.output }, out));
    });

  const scenario = local.command('scenario').description('replayable drills: a cluster, faults, waits and expectations in YAML');
  scenario.command('run')
    .description('replay a scenario file against a local cluster; reports pass/fail per step')
    .argument('<file>')
    .addOption(nsOpt()).addOption(stateOpt())
    .action(async (file: string, o: { namespace: string; stateDir: string }) => {
      await withPlatform(o.stateDir, true, async (p) => {
        await ensureDaemon(p);
        const results = await runScenario(p, file, o.namespace, out);
        const failed = results.filter((r) => !r.ok).length;
        out(failed ? `FAIL: ${failed} step(s) failed` : `PASS: ${results.length} steps`);
        if (failed) process.exitCode = 1;
      });
    });

  local.command('down')
    .description('stop every process of the local platform; --purge also deletes the state directory')
    .option('--purge', 'delete the state directory and all data')
    .addOption(stateOpt())
    .action(async (o: { purge?: boolean; stateDir: string }) => {
      const state = new StateDir(o.stateDir);
      if (!state.exists()) { out(`nothing to stop: ${state.root} does not exist`); return; }
      await down(state, o.purge ?? false, out);
      out('local platform stopped');
    });

  local.command('daemon', { hidden: true })
    .description('run the operator of a local platform in the foreground (started by `up`)')
    .addOption(stateOpt())
    .option('--inspect <port>', 'Stately inspector relay port (loopback)')
    .action(async (o: { stateDir: string; inspect?: string }) => (await import('../local-operator.js')).runDaemon(o.stateDir, o.inspect !== undefined ? { inspectPort: Number(o.inspect) } : {}));
}
