// What the agent knows about its instance right now: the spec file (reloaded on SIGHUP), the primary it follows
// after a rejoin, and the synchronous standby list it currently enforces. Every config write goes through here.
import type { OsUser } from '../adapters/os/os-user.js';
import type { Endpoint } from '../adapters/sql/connect.js';
import type { Upstream } from '../machines/agent/agent.types.js';
import { readInstanceSpec, SUPERUSER, type InstanceSpec } from '../adapters/instance/spec.js';
import { isStandby, readSecret, writeConfig } from './files.js';
import { tlsFiles } from './layout.js';
import { synchronousStandbyNames } from './sync.js';
import type { RepositoryChange } from './repository-change.js';

/** How the agent verifies an instance of its cluster (itself included): the installed CA, by name when known. */
export const peerTls = (s: InstanceSpec) => ({ caFile: tlsFiles(s).ca, serverName: s.tls.serverName });

export class InstanceRuntime {
  private file: InstanceSpec;
  private upstream: Upstream | null = null;
  syncNames = '';
  /** The timeline this instance's last promotion started (answered to the plan without another look). */
  promotedTimeline: number | null = null;
  /** The spec generation whose settings postgres has loaded (set at start and after a confirmed reload). */
  loadedGeneration: number | null = null;
  /** The repository (stanza and location) this primary last created its stanza in; a changed one is prepared again. */
  stanzaPreparedFor: string | null = null;
  /** A repository added or moved while this primary runs, until a segment archived into it proves it. */
  repositoryChange: RepositoryChange | null = null;

  constructor(private readonly path: string, readonly user: OsUser | null) {
    this.file = readInstanceSpec(path);
  }

  /** Re-reads the spec; a primary the platform now names replaces a rejoin's own choice. */
  reload(): void {
    const next = readInstanceSpec(this.path);
    if (JSON.stringify(next.primary) !== JSON.stringify(this.file.primary)) this.upstream = null;
    this.file = next;
  }

  follow(upstream: Upstream | null): void { this.upstream = upstream; }

  spec(): InstanceSpec {
    return this.upstream ? { ...this.file, primary: { host: this.upstream.host, port: this.upstream.port } } : this.file;
  }

  /**
   * A standby runs with the synchronous standby list it would enforce once promoted (PostgreSQL ignores it during
   * recovery): the checkpointer applies the list long before any promotion, so the first commit on a freshly
   * promoted server already waits for a standby, without a checkpoint on the failover's critical path to make sure.
   */
  writeConfig(standby = isStandby(this.spec())): void {
    const spec = this.spec();
    writeConfig(spec, this.user, standby, standby ? synchronousStandbyNames(spec, []) : this.syncNames);
  }

  superuser(): Endpoint {
    const s = this.spec();
    return { host: s.host, port: s.port, user: SUPERUSER, password: readSecret(s.secrets.superuser), tls: peerTls(s) };
  }
}
