// Follows a log file that another process appends to and hands on each complete line. On Kubernetes the agent
// passes postgres's log (kept on the volume, where it outlives the Pod) on to its own stdout, which is the container
// log `kubectl logs` reads. It starts at the file's end: what came before was the previous agent's to pass on.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** A line longer than this is handed on in pieces rather than held back without end. */
const MAX_LINE = 64 * 1024;

export function followLog(file: string, onLine: (line: string) => void, pollMs = 500): () => void {
  const size = () => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
  let pos = size();
  let partial = '';
  const poll = () => {
    const end = size();
    // Shorter than what was read: replaced or truncated, so it starts over.
    if (end < pos) { pos = 0; partial = ''; }
    if (end === pos) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(end - pos);
      const n = readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      const lines = (partial + buf.subarray(0, n).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      if (partial.length > MAX_LINE) { lines.push(partial); partial = ''; }
      for (const l of lines) onLine(l);
    } finally { closeSync(fd); }
  };
  const timer = setInterval(() => { try { poll(); } catch { /* the volume went away: nothing to pass on */ } }, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    try { poll(); } catch { /* as above */ }
    if (partial) onLine(partial);
  };
}
