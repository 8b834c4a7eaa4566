// Why postgres exited, in its own words: "exited with code 1" alone sent users to the log for the one line that
// mattered (a port taken, a bad setting, a recovery target never reached). Read for the agent's lastExit, a restore's
// private recovery start and a restore rehearsal.
import { openSync, readSync, closeSync, fstatSync, statSync } from 'node:fs';

/** Only the tail of what this start wrote is read: a crash loop must not read a growing log again and again. */
const TAIL_BYTES = 64 * 1024;
const MAX_CHARS = 300;

/** Where the part of the log a start is about to write begins: read before the start, passed to exitReason. */
export function logEnd(logFile: string): number {
  try { return statSync(logFile).size; } catch { return 0; }
}

/**
 * The last FATAL or PANIC line written at or after byte `from` by the postmaster (`pid`) or its startup process, with
 * the bind failure that causes the usual one. A client's backend logs FATAL lines too ("password authentication
 * failed for user …", with a name the client chose): those are not why postgres exited, and are left out.
 */
export function exitReason(logFile: string, from: number, pid?: number): string | undefined {
  let text = '';
  try {
    const fd = openSync(logFile, 'r');
    try {
      const st = fstatSync(fd);
      // A log sent to a pipe or a terminal cannot be read back.
      if (!st.isFile()) return undefined;
      const size = st.size;
      const start = Math.max(from, size - TAIL_BYTES);
      const buf = Buffer.alloc(Math.max(0, size - start));
      readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
    } finally { closeSync(fd); }
  } catch { return undefined; }
  const all = text.split('\n');
  const ofPid = (l: string, p: number) => l.includes(`[${p}]`);
  const startup = pid === undefined ? [] : all.filter((l) => ofPid(l, pid)).flatMap((l) => /startup process \(PID (\d+)\)/.exec(l)?.[1] ?? []).map(Number);
  // The default log_line_prefix ('%m [%p] ') names the process; without a pid, every line counts.
  const lines = pid === undefined ? all : all.filter((l) => [pid, ...startup].some((p) => ofPid(l, p)));
  const severe = lines.filter((l) => /\b(FATAL|PANIC):/.test(l)).at(-1);
  if (!severe) return undefined;
  const said = (l: string) => l.replace(/^.*?\b(FATAL|PANIC|LOG):\s*/, '$1: ').trim();
  // "could not create any TCP/IP sockets" says nothing of why; the LOG line before it names the address and the error.
  const bind = /TCP\/IP sockets|listen socket/.test(severe) ? lines.filter((l) => /could not bind/.test(l)).at(-1) : undefined;
  return [bind, severe].filter((l): l is string => !!l).map(said).join('; ').slice(0, MAX_CHARS);
}
