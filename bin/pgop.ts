#!/usr/bin/env node
// pgop: one binary, the subcommand selects the role (operator, instance agent, local platform, tools).
import { Command } from 'commander';
import { registerLocalCommands } from './commands/local.js';
import { runAgent } from '../instance/agent.js';
import { registerMachineCommands } from './commands/machines.js';
import { runWorker } from '../adapters/local/worker.js';

const program = new Command('pgop')
  .description('PostgreSQL operator whose controllers are explicit XState statecharts')
  .showHelpAfterError();

program.command('instance')
  .description('run the instance agent for one PostgreSQL instance (the pod entrypoint)')
  .requiredOption('--spec <file>', 'instance spec JSON written by the platform')
  .action(async (o: { spec: string }) => runAgent(o.spec));

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
