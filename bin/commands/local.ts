import type { Command } from 'commander';

export function registerLocalCommands(program: Command): void {
  program.command('local').description('the embedded platform: a local HA cluster on this machine');
}
