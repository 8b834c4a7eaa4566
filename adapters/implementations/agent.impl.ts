// Fills the agent machine's effect slots with real PostgreSQL work.
import { fromPromise, fromCallback, type AnyEventObject } from 'xstate';
import type { agentMachine } from '../../machines/agent/agent.machine.js';
import type { DataDirState, SupervisorInput } from '../../machines/agent/agent.types.js';
import type { OsUser } from '../os/os-user.js';
import type { InstanceSpec } from '../../instance/spec.js';
import { SUPERUSER, REPLICATION_USER } from '../../instance/spec.js';
import { isBootstrapped, initdb, cloneFromPrimary, type BootstrapProgress } from '../../instance/bootstrap.js';
import type { PostgresSupervisor } from '../../instance/supervisor.js';
import { readSecret, writeConfig } from '../../instance/files.js';
import { withClient } from '../sql/connect.js';
import { ensureRole, ensureDatabase, setPassword } from '../sql/roles.js';
import { isStandby } from '../../instance/files.js';
import { runCommand } from '../os/run-command.js';
import { bin } from '../../instance/layout.js';
import type { Logger } from '../logging/logger.js';

export interface AgentDeps {
  spec: () => InstanceSpec;
  user: OsUser | null;
  supervisor: PostgresSupervisor;
  log: Logger;
  onProgress: (p: BootstrapProgress | null) => void;
}

export function createAgentImplementations(deps: AgentDeps) {
  const superuser = (spec: InstanceSpec) => ({ host: spec.host, port: spec.port, user: SUPERUSER, password: readSecret(spec.secrets.superuser) });
  return {
    actors: {
      inspectDataDir: fromPromise<DataDirState, SupervisorInput>(async () => ({ initialized: isBootstrapped(deps.spec()) })),

      bootstrapDataDir: fromPromise<void, SupervisorInput>(async ({ signal }) => {
        const spec = deps.spec();
        const progress = (p: BootstrapProgress) => { deps.onProgress(p); deps.log.info({ progress: p }, 'bootstrap progress'); };
        if (spec.bootstrap.mode === 'initdb') await initdb(spec, deps.user, progress);
        else await cloneFromPrimary(spec, deps.user, progress, signal);
        deps.onProgress(null);
      }),

      runPostgres: fromCallback<AnyEventObject, SupervisorInput>(({ sendBack }) => deps.supervisor.start(sendBack)),

      prepareInstance: fromPromise<void, SupervisorInput>(async () => {
        const spec = deps.spec();
        if (isStandby(spec)) return;
        await withClient(superuser(spec), async (c) => {
          await setPassword(c, SUPERUSER, readSecret(spec.secrets.superuser));
          await ensureRole(c, REPLICATION_USER, readSecret(spec.secrets.replication), ['LOGIN', 'REPLICATION']);
          if (spec.bootstrap.mode === 'initdb') {
            const { owner, database } = spec.bootstrap.initdb;
            await ensureRole(c, owner, readSecret(spec.secrets.app), ['LOGIN']);
            await ensureDatabase(c, database, owner);
          }
        });
      }),

      applyConfig: fromPromise<void, SupervisorInput>(async () => {
        const spec = deps.spec();
        writeConfig(spec, deps.user);
        await runCommand(bin(spec, 'pg_ctl'), ['reload', '-D', spec.dataDir, '-s'], { user: deps.user });
      }),

      stopPostgres: fromPromise<void, SupervisorInput>(() => deps.supervisor.stop()),
    },
  } satisfies Parameters<typeof agentMachine.provide>[0];
}
