// Spawn a tool with an argument array (never a shell string), optionally as another OS user, collecting stderr
// for the error message and streaming lines to a progress callback.
import { spawn } from 'node:child_process';
import type { OsUser } from './os-user.js';

export interface RunOptions {
  user?: OsUser | null;
  env?: Record<string, string>;
  stdin?: string;
  cwd?: string;
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly code: number | null, readonly stderr: string) {
    super(`${command} failed (${code === null ? 'killed' : `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no output'}`);
    this.name = 'CommandError';
  }
}

export function runCommand(bin: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd ?? '/',
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const feed = (chunk: string) => {
      if (!opts.onLine) return;
      partial += chunk;
      const parts = partial.split(/[\r\n]/);
      partial = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) opts.onLine(p);
    };
    child.stdout?.setEncoding('utf8').on('data', (c: string) => { stdout += c; feed(c); });
    child.stderr?.setEncoding('utf8').on('data', (c: string) => { stderr += c; if (stderr.length > 65536) stderr = stderr.slice(-32768); feed(c); });
    child.on('error', (e) => reject(new CommandError(bin, null, e.message)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new CommandError(`${bin.split('/').pop()} ${args[0] ?? ''}`.trim(), code, stderr))));
    if (child.stdin) {
      // A tool that exits before reading its input must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.stdin);
    }
  });
}
