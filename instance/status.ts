// GET /status: the agent's machine state combined with a live look at PostgreSQL.
import type { SnapshotFrom } from 'xstate';
import type { agentMachine } from '../machines/agent/agent.machine.js';
import type { InstanceObservation } from '../machines/shared/observation.js';
import { withClient } from '../adapters/sql/connect.js';
import { readReplicationState } from '../adapters/sql/replication.js';
import { readArchiver } from '../adapters/sql/archiver.js';
import { readPendingRestart } from '../adapters/sql/pending-restart.js';
import type { InstanceRuntime } from './runtime.js';
import { gateArchiver, repositoryKey } from './repository-change.js';
import type { BootstrapProgress } from './bootstrap.js';

export interface AgentStatus extends InstanceObservation {
  instance: string;
  state: string;
  streaming: boolean;
  lagBytes: number | null;
  restarts: number;
  lastExit: string | null;
  postgresPid: number | null;
  progress: BootstrapProgress | null;
  fenced: string | null;
  demotedAt: string | null;
  upstream: string | null;
  lastError: string | null;
  /** Where this Pod keeps its data and socket: a standby backing up through this instance's pgBackRest server names them (ADR 0035). */
  dataDir: string;
  socketDir: string;
}

export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${stateName(v)}`).join(',');
}

type AgentSnapshot = SnapshotFrom<typeof agentMachine>;

export async function collectStatus(rt: InstanceRuntime, snapshot: AgentSnapshot, postgresPid: number | null, progress: BootstrapProgress | null, binDir: string | null = null): Promise<AgentStatus> {
  const c = snapshot.context;
  const fenced = snapshot.matches('fencing') || snapshot.matches('fenced') || snapshot.matches('demoting') || snapshot.matches('holding') || snapshot.matches('held');
  const base: AgentStatus = {
    instance: rt.spec().name, state: stateName(snapshot.value), role: 'unknown', ready: false, timeline: null,
    currentLsn: null, receiveLsn: null, replayLsn: null, lagBytes: null, streaming: false,
    bootstrapping: ['initializing', 'bootstrapping', 'rejoining', 'claiming', 'waitingForLease', 'rejoinBackoff'].some((s) => snapshot.matches(s as never)),
    failed: snapshot.matches('bootstrapFailed') ? c.bootstrapError ?? 'bootstrap failed' : null,
    restarts: c.restarts, lastExit: c.lastExit, postgresPid, progress,
    fenced: fenced ? c.fencedReason ?? 'fenced' : null, demotedAt: c.demotedAt, upstream: c.upstream?.name ?? null, lastError: c.lastError,
    dataDir: rt.spec().dataDir, socketDir: rt.spec().runDir,
  };
  const running = snapshot.matches({ up: { postgres: { supervising: 'running' } } }) || snapshot.matches({ up: { postgres: { supervising: 'reconfiguring' } } })
    || snapshot.matches({ up: { postgres: { supervising: 'promoting' } } });
  if (!running) return base;
  try {
    const r = await withClient(rt.superuser(), readReplicationState, 2000);
    const streaming = r.receiverStatus === 'streaming';
    const role = r.inRecovery ? 'replica' : 'primary';
    const backup = rt.spec().backup;
    const raw = role === 'primary' && backup ? await withClient(rt.superuser(), readArchiver, 2000).catch(() => null) : null;
    const gated = raw && backup ? gateArchiver(raw, rt.repositoryChange, repositoryKey(backup)) : null;
    if (gated?.proven) rt.repositoryChange = null;
    const archiver = gated?.archiver ?? null;
    const pendingRestart = !!rt.spec().restartNeeded?.length || await withClient(rt.superuser(), readPendingRestart, 2000).catch(() => false);
    return {
      ...base, role, ...(archiver ? { archiver } : {}), pendingRestart, image: binDir, configGeneration: rt.loadedGeneration,
      // A primary is ready only while it holds the lease (the machine says primary) and accepts writes.
      ready: r.inRecovery ? streaming : c.role === 'primary',
      streaming, timeline: r.timeline, currentLsn: r.currentLsn, receiveLsn: r.receiveLsn, replayLsn: r.replayLsn, lagBytes: r.lagBytes,
    };
  } catch {
    return base;
  }
}
