#!/usr/bin/env node
// pgop: one binary, the subcommand selects the role (operator, instance agent, local platform, tools).
import { Command } from 'commander';
import { registerLocalCommands } from './commands/local.js';
import { runAgent } from '../instance/agent.js';
import { registerMachineCommands } from './commands/machines.js';

const program = new Command('pgop')
  .description('PostgreSQL operator whose controllers are explicit XState statecharts')
  .showHelpAfterError();

program.command('instance')
  .description('run the instance agent for one PostgreSQL instance (the pod entrypoint)')
  .requiredOption('--spec <file>', 'instance spec JSON written by the platform')
  .action(async (o: { spec: string }) => runAgent(o.spec));

registerLocalCommands(program);
registerMachineCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
