import { fileURLToPath } from 'node:url';

/** How to run this same pgop build as a child process (daemon, agents). */
export function pgopCommand(args: string[]): { command: string; args: string[] } {
  const entry = fileURLToPath(new URL('../../bin/pgop.js', import.meta.url));
  return { command: process.execPath, args: [...process.execArgv, entry, ...args] };
}
