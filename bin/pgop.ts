#!/usr/bin/env node
// pgop: one binary, the subcommand selects the role (operator, instance agent, local platform, tools).
import { Command } from 'commander';
import { registerLocalCommands } from './commands/local.js';
import { runAgent } from '../instance/agent.js';
import { registerMachineCommands } from './commands/machines.js';
import { runWorker } from '../adapters/local/worker.js';
import { runDaemon } from '../adapters/local/daemon.js';

const program = new Command('pgop')
  .description('PostgreSQL operator whose controllers are explicit XState statecharts')
  .showHelpAfterError();

program.command('instance')
  .description('run the instance agent for one PostgreSQL instance (the pod entrypoint)')
  .requiredOption('--spec <file>', 'instance spec JSON written by the platform')
  .action(async (o: { spec: string }) => runAgent(o.spec));

program.command('operator')
  .description('run the operator (the control plane) in the foreground, leader-elected; `pgop local up` runs it in the background')
  .option('--platform <platform>', 'local (the embedded platform) or kubernetes', 'local')
  .option('--state-dir <dir>', 'local platform state directory', process.env.PGOP_STATE_DIR ?? '.pgop')
  .option('--inspect [port]', 'stream every actor to the Stately inspector through a loopback relay (default port 8080)')
  .action(async (o: { platform: string; stateDir: string; inspect?: string | boolean }) => {
    if (o.platform !== 'local') throw new Error(`--platform ${o.platform}: only the local platform is available in this build; the kubernetes platform is not implemented yet`);
    const inspectPort = o.inspect === undefined ? undefined : o.inspect === true ? 8080 : Number(o.inspect);
    await runDaemon(o.stateDir, inspectPort !== undefined ? { inspectPort } : {});
  });

program.command('worker')
  .description('run the BullMQ workers for long-running steps on their own (the operator runs them in-process by default)')
  .option('--state-dir <dir>', 'local platform state directory', process.env.PGOP_STATE_DIR ?? '.pgop')
  .option('--concurrency <n>', 'jobs at once', '4')
  .action(async (o: { stateDir: string; concurrency: string }) => runWorker(o.stateDir, Number(o.concurrency)));

registerLocalCommands(program);
registerMachineCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
