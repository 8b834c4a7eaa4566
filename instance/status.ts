// GET /status: the agent's machine state combined with a live look at PostgreSQL.
import type { SnapshotFrom } from 'xstate';
import type { agentMachine } from '../machines/agent/agent.machine.js';
import type { InstanceObservation } from '../machines/shared/observation.js';
import { withClient } from '../adapters/sql/connect.js';
import { readReplicationState } from '../adapters/sql/replication.js';
import type { InstanceSpec } from './spec.js';
import { SUPERUSER } from './spec.js';
import { readSecret } from './files.js';
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
}

const stateName = (s: SnapshotFrom<typeof agentMachine>) =>
  typeof s.value === 'string' ? s.value : Object.entries(s.value).map(([k, v]) => `${k}.${String(v)}`).join(',');

export async function collectStatus(
  spec: InstanceSpec, snapshot: SnapshotFrom<typeof agentMachine>, postgresPid: number | null, progress: BootstrapProgress | null,
): Promise<AgentStatus> {
  const base: AgentStatus = {
    instance: spec.name, state: stateName(snapshot), role: 'unknown', ready: false, timeline: null,
    currentLsn: null, receiveLsn: null, replayLsn: null, lagBytes: null, streaming: false,
    bootstrapping: snapshot.matches('initializing') || snapshot.matches('bootstrapping'),
    failed: snapshot.matches('bootstrapFailed') ? snapshot.context.bootstrapError ?? 'bootstrap failed' : null,
    restarts: snapshot.context.restarts, lastExit: snapshot.context.lastExit, postgresPid, progress,
  };
  if (!snapshot.matches({ supervising: 'running' }) && !snapshot.matches({ supervising: 'reconfiguring' })) return base;
  try {
    const r = await withClient({ host: spec.host, port: spec.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser) }, readReplicationState, 2000);
    const streaming = r.receiverStatus === 'streaming';
    return {
      ...base,
      role: r.inRecovery ? 'replica' : 'primary',
      ready: r.inRecovery ? streaming : true,
      streaming, timeline: r.timeline, currentLsn: r.currentLsn, receiveLsn: r.receiveLsn, replayLsn: r.replayLsn, lagBytes: r.lagBytes,
    };
  } catch {
    return base;
  }
}
