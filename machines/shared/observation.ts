// What an instance agent reports about its PostgreSQL (GET /status), as the machines see it.

export type InstanceRole = 'primary' | 'replica' | 'unknown';

export interface InstanceObservation {
  role: InstanceRole;
  /** Accepting connections, and for a replica: streaming from the primary. */
  ready: boolean;
  timeline: number | null;
  currentLsn: string | null;
  receiveLsn: string | null;
  replayLsn: string | null;
  /** Set while the agent is still initialising or cloning; drives the instance's bootstrap state. */
  bootstrapping: boolean;
  /** A bootstrap that cannot succeed (initdb or pg_basebackup failed permanently). */
  failed: string | null;
  /** pg_stat_archiver of a primary with a backup repository (absent otherwise). */
  archiver?: ArchiverObservation | null;
  /** Rolling updates: some setting changed in postgresql.conf needs a restart to apply (pg_settings.pending_restart). */
  pendingRestart?: boolean;
  /** Rolling updates: the PostgreSQL bin directory (local) or image the running postmaster was started from. */
  image?: string | null;
  /** Rolling updates: the cluster spec generation whose configuration postgres has loaded (null: not known). */
  configGeneration?: number | null;
}

export interface ArchiverObservation {
  failedCount: number;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  /**
   * archive_mode as postgres runs with it (absent from older agents). A repository added to a running cluster sets
   * it `on` in the config, but postgres applies it only at its next restart (a rolling update): until then nothing
   * is archived although pg_stat_archiver shows no failure.
   */
  archiveMode?: string;
  /**
   * A repository added or moved while the primary runs, not yet proven: why archiving into it is not confirmed
   * (its stanza is being created, stanza-create failed, or the first segment has not reached it). Until then a
   * success in pg_stat_archiver may be the old command's, which reached no repository.
   */
  repositoryPending?: string;
}
