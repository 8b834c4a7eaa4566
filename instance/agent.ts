// `pgop instance`: the instance agent. Runs the agent machine with real effects, serves its HTTP API, and stops
// postgres cleanly on SIGTERM. Re-reads its spec on SIGHUP.
import { createActor } from 'xstate';
import { agentMachine } from '../machines/agent/agent.machine.js';
import { createAgentImplementations } from '../adapters/implementations/agent.impl.js';
import { postgresUser } from '../adapters/os/os-user.js';
import { createLogger } from '../adapters/logging/logger.js';
import { readInstanceSpec, type InstanceSpec } from './spec.js';
import { PostgresSupervisor } from './supervisor.js';
import { collectStatus } from './status.js';
import { createAgentMetrics } from './metrics.js';
import { startAgentApi } from './http-api.js';
import type { BootstrapProgress } from './bootstrap.js';

export async function runAgent(specPath: string): Promise<void> {
  let spec: InstanceSpec = readInstanceSpec(specPath);
  const log = createLogger('instance', { cluster: `${spec.cluster.namespace}/${spec.cluster.name}`, instance: spec.name });
  const user = postgresUser();
  const supervisor = new PostgresSupervisor(() => spec, user);
  let progress: BootstrapProgress | null = null;
  const impl = createAgentImplementations({ spec: () => spec, user, supervisor, log, onProgress: (p) => { progress = p; } });
  const actor = createActor(agentMachine.provide(impl), {
    input: { instance: spec.name, bootstrap: spec.bootstrap.mode, maxBackoffMs: 30_000 },
  });
  let last = '';
  actor.subscribe((s) => {
    const state = JSON.stringify(s.value);
    if (state !== last) log.info({ machine: 'agent', state: s.value, restarts: s.context.restarts, lastExit: s.context.lastExit }, 'agent state');
    last = state;
  });
  const metrics = createAgentMetrics({ cluster: spec.cluster.name, instance: spec.name });
  const status = () => collectStatus(spec, actor.getSnapshot(), supervisor.pid, progress);
  await startAgentApi(spec.host, spec.httpPort, {
    status,
    metrics: async () => { metrics.update(await status()); return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }; },
  });
  actor.start();
  log.info({ httpPort: spec.httpPort, port: spec.port, dataDir: spec.dataDir }, 'agent started');

  const stop = (signal: string) => {
    log.info({ signal }, 'stopping');
    actor.send({ type: 'agent.stop' });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    spec = readInstanceSpec(specPath);
    log.info('spec reloaded');
    actor.send({ type: 'config.changed' });
  });
  await new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve(), error: (e: unknown) => { log.error({ err: e }, "agent machine failed"); resolve(); } }));
  log.info('stopped');
  log.flush();
  process.exit(0);
}
