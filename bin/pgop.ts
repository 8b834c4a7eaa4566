#!/usr/bin/env node
// pgop: one binary, the subcommand selects the role (operator, instance agent, local platform, tools). A role's
// modules load when it runs: the CLI's short commands (`local backup`, `kube status`) would otherwise spend a second
// loading the Kubernetes client, BullMQ and the agent first.
import { Command } from 'commander';
import { registerLocalCommands } from './commands/local.js';
import { registerMachineCommands } from './commands/machines.js';
import { registerRouterCommand } from './commands/router.js';
import { registerKubeVerbs } from './commands/kube.js';

const program = new Command('pgop')
  .description('PostgreSQL operator whose controllers are explicit XState statecharts')
  .showHelpAfterError();

program.command('instance')
  .description('run the instance agent for one PostgreSQL instance (the pod entrypoint)')
  .option('--spec <file>', 'instance spec JSON written by the platform (local)')
  .option('--kubernetes', 'read the spec from the Kubernetes API (inside a Pod the operator created)')
  .action(async (o: { spec?: string; kubernetes?: boolean }) => {
    if (o.kubernetes) return (await import('../instance/kubernetes-agent.js')).runKubernetesAgent();
    if (!o.spec) throw new Error('pass --spec FILE (local platform) or --kubernetes (inside a Pod)');
    return (await import('../instance/agent.js')).runAgent(o.spec);
  });

program.command('pooler')
  .description("run PgBouncer for a Pooler (the entrypoint of a Pooler's pods on Kubernetes), with its Prometheus exporter")
  .option('--kubernetes', 'read the configuration from the Kubernetes API (inside a Pod the operator created)')
  .action(async (o: { kubernetes?: boolean }) => {
    if (!o.kubernetes) throw new Error('pass --kubernetes (inside a Pooler Pod); on the local platform the operator runs PgBouncer itself');
    return (await import('../adapters/pooler/k8s-pooler-pod.js')).runKubernetesPooler();
  });

program.command('operator')
  .description('run the operator (the control plane) in the foreground, leader-elected; `pgop local up` runs it in the background')
  .option('--platform <platform>', 'local (the embedded platform) or kubernetes', 'local')
  .option('--state-dir <dir>', 'local platform state directory', process.env.PGOP_STATE_DIR ?? '.pgop')
  .option('--kubeconfig <file>', 'kubernetes: kubeconfig to use (default $KUBECONFIG, in-cluster, then ~/.kube/config)')
  .option('--namespace <ns>', 'kubernetes: namespace of the leader-election Lease', process.env.POD_NAMESPACE ?? 'default')
  .option('--metrics-port <port>', 'kubernetes: port of /metrics', process.env.PGOP_METRICS_PORT ?? '9187')
  .option('--watch-namespace <ns>', 'kubernetes: only clusters in this namespace (default: every namespace)', process.env.PGOP_WATCH_NAMESPACE ?? '')
  .option('--inspect [port]', 'stream every actor to the Stately inspector through a loopback relay (default port 8080)')
  .action(async (o: { platform: string; stateDir: string; kubeconfig?: string; namespace: string; metricsPort: string; watchNamespace: string; inspect?: string | boolean }) => {
    const inspectPort = o.inspect === undefined ? undefined : o.inspect === true ? 8080 : Number(o.inspect);
    const inspect = inspectPort !== undefined ? { inspectPort } : {};
    if (o.platform === 'kubernetes') {
      return (await import('./k8s-operator.js')).runKubernetesOperator({
        ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), namespace: o.namespace, metricsPort: Number(o.metricsPort), watchNamespace: o.watchNamespace, ...inspect,
      });
    }
    if (o.platform !== 'local') throw new Error(`--platform ${o.platform}: use local or kubernetes`);
    return (await import('./local-operator.js')).runDaemon(o.stateDir, inspect);
  });

program.command('worker')
  .description('run the BullMQ workers for long-running steps on their own (the operator runs them in-process by default)')
  .option('--state-dir <dir>', 'local platform state directory', process.env.PGOP_STATE_DIR ?? '.pgop')
  .option('--concurrency <n>', 'jobs at once', '4')
  .action(async (o: { stateDir: string; concurrency: string }) => (await import('./worker.js')).runWorker(o.stateDir, Number(o.concurrency)));

registerLocalCommands(program);
registerKubeVerbs(program.command('kube').description('the kubectl plugin\'s verbs against the current kubeconfig (installed as kubectl-pgop: `kubectl pgop status CLUSTER`)'));
registerMachineCommands(program);
registerRouterCommand(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
