// Small process helpers for the local platform: liveness, pid files, and waiting for exits.
import { readFileSync, existsSync, writeFileSync, rmSync } from 'node:fs';

export const isAlive = (pid: number | undefined | null): pid is number => {
  if (!pid) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
};

export function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export const writePid = (file: string, pid: number) => writeFileSync(file, `${pid}\n`);
export const removePid = (file: string) => rmSync(file, { force: true });

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
