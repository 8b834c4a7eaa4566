// Effects retry what is transient themselves (an instance still starting, a connection refused) and reject only
// on permanent errors, so machines need no timers. Aborting (the state was left) stops the loop.

export interface RetryOptions {
  signal?: AbortSignal;
  /** Give up after this long even on transient errors. */
  maxMs?: number;
  isTransient?: (e: unknown) => boolean;
  onRetry?: (e: unknown, attempt: number) => void;
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P03', '53300', '08006', '08001']);

export function isTransientError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as Error & { code?: string }).code;
  if (code && TRANSIENT_CODES.has(code)) return true;
  return /timeout|terminat|Connection terminated|connect ECONNREFUSED|starting up|shutting down|not yet accepting/i.test(e.message);
}

export async function retrying<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const started = Date.now();
  const transient = opts.isTransient ?? isTransientError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (opts.signal?.aborted || !transient(e) || Date.now() - started > (opts.maxMs ?? 600_000)) throw e;
      opts.onRetry?.(e, attempt);
      await abortableSleep(Math.min(5000, 200 * 2 ** Math.min(attempt, 5)), opts.signal);
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(signal?.reason ?? new Error('aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
