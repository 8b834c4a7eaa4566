// The cloneInstance step (run by a BullMQ worker): create the replica's pod in clone mode, then follow its
// pg_basebackup to the end through the agent, reporting progress. Idempotent: run again after a restart it finds
// the pod already there and simply follows it; pg_basebackup runs in the pod, never twice for one attempt.
import type { InstanceEffectInput } from '../../machines/instance/instance.types.js';
import type { StepProcessor } from '../../actors/queues/step-worker.js';
import { PermanentError } from '../platform.js';
import type { InstanceDeps } from './instance.impl.js';
import { abortableSleep } from '../retry.js';

export function cloneInstanceProcessor(deps: InstanceDeps, timeoutMs = 6 * 3600_000): StepProcessor {
  return async (data, progress, signal) => {
    const input = data as unknown as InstanceEffectInput;
    const spec = await deps.clusterSpec(input.cluster);
    const primary = (await deps.currentPrimary(input.cluster)) ?? input.primary;
    await deps.platform.createInstance({ ...input, primary }, spec, signal);
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const agent = await deps.platform.agent(input.cluster, input.instance);
      const s = await agent?.status().catch(() => null);
      if (s?.failed) throw new PermanentError(`clone of ${input.instance} failed: ${s.failed}`);
      if (s && s.state.startsWith('up')) return { instance: input.instance, state: s.state };
      const p = s?.progress ? { percent: s.progress.percent, detail: s.progress.step } : { percent: null, detail: s ? s.state : 'starting the pod' };
      const key = `${p.detail}:${p.percent === null ? '' : Math.floor(p.percent / 5)}`;
      if (key !== last) { last = key; await progress(p); }
      await abortableSleep(1000, signal);
    }
    throw new Error(`clone of ${input.instance} did not finish within ${Math.round(timeoutMs / 60000)} min`);
  };
}
