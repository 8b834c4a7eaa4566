// A repository added (or moved) while the primary runs: archive_command follows by reload, but pg_stat_archiver still
// holds what the old command did, and the archiver process may run the old command once more after the reload that
// the backend confirmed (its own reload is asynchronous). A success is proof only for a segment at or after the one the
// agent closed once the new stanza existed (ADR 0044).
import type { ArchiverObservation } from '../machines/shared/observation.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';

/** The repository's identity for a primary: its stanza and location. */
export const repositoryKey = (b: NonNullable<InstanceSpec['backup']>) => JSON.stringify({ stanza: b.stanza, repository: b.repository });

export interface RepositoryChange {
  /** The repository (stanza and location) being prepared. */
  key: string;
  /** The last stanza-create or catch-up failure, until one succeeds. */
  error: string | null;
  /** The WAL segment the agent closed after the stanza was created: archived up to it proves the new repository. */
  confirmFrom: string | null;
}

/**
 * What the agent reports while a change is pending: the archiver as postgres shows it, marked as not proven yet.
 * `proven` is true once the archiver reached `confirmFrom` (the change is then over).
 */
export function gateArchiver(a: ArchiverObservation, change: RepositoryChange | null, key: string | null): { archiver: ArchiverObservation; proven: boolean } {
  if (!change || change.key !== key) return { archiver: a, proven: false };
  if (!change.confirmFrom) {
    return { archiver: { ...a, repositoryPending: change.error ? `stanza-create failed: ${change.error}` : 'creating its pgBackRest stanza' }, proven: false };
  }
  // WAL file names sort by timeline, then position.
  if (a.lastArchivedWal && a.lastArchivedWal.slice(0, 24) >= change.confirmFrom) return { archiver: a, proven: true };
  return { archiver: { ...a, repositoryPending: `waiting for segment ${change.confirmFrom} to be archived into it` }, proven: false };
}
