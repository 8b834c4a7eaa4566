import pino, { type Logger } from 'pino';

export type { Logger };

/** JSON logs with secrets redacted; every component gets a child logger naming itself. */
export function createLogger(component: string, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  return pino({
    base: { component, ...bindings },
    level: process.env.PGOP_LOG_LEVEL ?? 'info',
    redact: { paths: ['password', '*.password', '*.*.password', 'secrets', '*.secrets'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }, destination);
}
