// Errors say whether retrying can help. Effects retry what is transient themselves; a PermanentError tells the
// queue (UnrecoverableError, no further attempts) and the machine (its error path) that it will not get better.

/** Errors that retrying cannot fix: the machine should fail and say why. */
export class PermanentError extends Error {
  constructor(message: string) { super(message); this.name = 'PermanentError'; }
}

export const isPermanent = (e: unknown): boolean => e instanceof PermanentError;
