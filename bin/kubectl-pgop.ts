#!/usr/bin/env node
// `kubectl pgop VERB`: kubectl runs any `kubectl-<name>` on the PATH as a plugin, with the rest of the command line.
// The same verbs as `pgop kube VERB` (and, on the local platform, `pgop local VERB`), against the current kubeconfig.
import { Command } from 'commander';
import { registerKubeVerbs } from './commands/kube.js';

const program = new Command('kubectl pgop')
  .description('pgop PostgreSQL clusters from kubectl: status, switchover, promote, restart, fence, hibernate, psql, backup, logs')
  .showHelpAfterError();
registerKubeVerbs(program);
program.parseAsync(process.argv).catch((e: unknown) => {
  process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
