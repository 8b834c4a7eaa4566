// The logging port of the runtime: structured, with child loggers per resource. pino's Logger satisfies it; the
// runtime never imports pino itself, so tests and other hosts can pass anything with this shape.
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal?: LogFn;
  /** Writes buffered lines out (before the process dies on purpose). */
  flush?(): void;
  child(bindings: Record<string, unknown>): Logger;
}
