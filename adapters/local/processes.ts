// Small process helpers for the local platform: liveness, pid files, and waiting for exits.
import { readFileSync, existsSync, writeFileSync, rmSync, readdirSync } from 'node:fs';

interface ProcStat { state: string; ppid: number; pgrp: number; start: string }

/** State letter, parent, process group and start time (clock ticks since boot) from /proc, or undefined. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses; the fields after the last ')' are fixed.
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', ppid: Number(rest[1]), pgrp: Number(rest[2]), start: rest[19] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * The processes of one instance: the members of the agent's process group, the postmaster, and every descendant
 * of either, found by walking /proc parent links. PostgreSQL's backends, walsenders and auxiliary processes are
 * not in the agent's process group (they may run in their own sessions), so signalling the group alone would
 * leave them serving.
 */
export function processTree(roots: Array<number | undefined | null>, groups: number[] = []): number[] {
  const stats = new Map<number, ProcStat>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const st = procStat(Number(e));
    if (st && st.state !== 'Z' && st.state !== 'X') stats.set(Number(e), st);
  }
  const children = new Map<number, number[]>();
  for (const [pid, st] of stats) children.set(st.ppid, [...(children.get(st.ppid) ?? []), pid]);
  const found: number[] = [];
  const seen = new Set<number>();
  const queue = [
    ...roots.filter((p): p is number => !!p && stats.has(p)),
    ...[...stats].filter(([, st]) => groups.includes(st.pgrp)).map(([pid]) => pid),
  ];
  while (queue.length) {
    const pid = queue.shift() as number;
    if (seen.has(pid) || pid === process.pid) continue;
    seen.add(pid);
    found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/**
 * Signals every process of a tree, rescanning until no new process appears: a postmaster not stopped yet may fork
 * a backend between the scan and the signal. Returns the pids signalled.
 */
export function signalTree(scan: () => number[], signal: NodeJS.Signals, rounds = 5): number[] {
  const done = new Set<number>();
  for (let i = 0; i < rounds; i++) {
    const fresh = scan().filter((p) => !done.has(p));
    if (!fresh.length) break;
    for (const pid of fresh) {
      done.add(pid);
      try { process.kill(pid, signal); } catch { /* exited meanwhile */ }
    }
  }
  return [...done];
}

/** Alive means running: a zombie nobody reaped yet (an orphan under a lazy init) is as gone as a reaped one. */
export const isAlive = (pid: number | undefined | null): pid is number => {
  if (!pid) return false;
  try { process.kill(pid, 0); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; }
  const st = procStat(pid);
  return st === undefined ? existsSync('/proc/self') === false : st.state !== 'Z' && st.state !== 'X';
};

/**
 * The pid a pid file names, if that process still runs. Files we write carry the start time too, so a recycled
 * pid (another process that got the same number) does not pass for the recorded one. Only the first line counts
 * (postmaster.pid has more).
 */
export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const [pidText, start] = (readFileSync(file, 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (start) {
    const now = procStat(pid);
    if (now && now.start !== start) return undefined;
  }
  return pid;
}

export const writePid = (file: string, pid: number) => writeFileSync(file, `${pid} ${procStat(pid)?.start ?? ''}`.trimEnd() + '\n');
export const removePid = (file: string) => rmSync(file, { force: true });

/** Whether `pid` runs the named program (/proc/PID/comm), to trust a pid file written by someone else. */
export const runs = (pid: number | undefined, program: string): boolean => {
  if (!isAlive(pid)) return false;
  try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === program; } catch { return true; }
};

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await sleep(100);
  }
  return !isAlive(pid);
}

/** Signal a whole process group (an agent and its postgres), falling back to the single pid. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { try { process.kill(pid, signal); } catch { /* already gone */ } }
}

/** TERM, wait, then KILL: stopping must always finish. */
export async function terminate(pid: number, timeoutMs = 15_000, group = true): Promise<void> {
  if (!isAlive(pid)) return;
  if (group) signalGroup(pid, 'SIGTERM'); else process.kill(pid, 'SIGTERM');
  if (await waitForExit(pid, timeoutMs)) return;
  if (group) signalGroup(pid, 'SIGKILL'); else process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 5000);
}
