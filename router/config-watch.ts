// The control plane rewrites the router's config file after a failover or switchover (new shard addresses) or a CA
// rotation; the router re-reads it on SIGHUP and when the file changes. A file that does not load is logged and
// ignored: the router keeps routing with the config it has.
import { watchFile, unwatchFile } from 'node:fs';
import type { Logger } from 'pino';
import { loadRouterConfig, type RouterFlags } from './config.js';
import type { RunningRouter } from './server.js';

export interface ConfigWatch { reloadNow(): Promise<boolean>; stop(): void }

export function watchRouterConfig(flags: RouterFlags, router: Pick<RunningRouter, 'reload'>, log: Logger,
  opts: { intervalMs?: number; signals?: boolean } = {}): ConfigWatch {
  const file = flags.config;
  let chain = Promise.resolve(true);
  const reloadNow = (): Promise<boolean> => (chain = chain.then(async () => {
    try {
      await router.reload(loadRouterConfig(flags));
      return true;
    } catch (e) {
      log.error({ err: (e as Error).message, file }, 'config reload failed; keeping the running config');
      return false;
    }
  }));
  const onChange = (cur: { mtimeMs: number; size: number }, prev: { mtimeMs: number; size: number }) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) void reloadNow();
  };
  // watchFile polls the path, so an atomic rename-over by the writer is seen as well as an in-place write.
  if (file) watchFile(file, { interval: opts.intervalMs ?? 1000, persistent: false }, onChange);
  const onHup = () => { void reloadNow(); };
  if (opts.signals !== false) process.on('SIGHUP', onHup);
  return {
    reloadNow,
    stop() { if (file) unwatchFile(file, onChange); process.off('SIGHUP', onHup); },
  };
}
