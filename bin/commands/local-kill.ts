import type { Platform } from '../../adapters/local/control.js';
import { LocalPods } from '../../adapters/local/pods.js';
import { LocalSecrets } from '../../adapters/local/secrets.js';
import { postgresUser } from '../../adapters/os/os-user.js';
import { AgentClient } from '../../adapters/agent-client.js';
import { isAlive, signalGroup } from '../../adapters/local/processes.js';
import { daemonRunning } from '../../adapters/local/control.js';
import { createLogger } from '../../adapters/logging/logger.js';

const WHOLE_INSTANCE = new Set<NodeJS.Signals>(['SIGSTOP', 'SIGCONT', 'SIGKILL']);

export async function killTarget(p: Platform, target: string, o: { signal: string; postgresOnly?: boolean; namespace: string; forSeconds?: number }): Promise<string> {
  const signal = `SIG${o.signal}` as NodeJS.Signals;
  if (target === 'operator') {
    const pid = await daemonRunning(p);
    if (!isAlive(pid)) throw new Error('the operator is not running');
    process.kill(pid, signal);
    return `sent ${signal} to the operator (pid ${pid})`;
  }
  const record = p.state.readPlatform();
  const pods = new LocalPods(p.state, p.store.redis, postgresUser(), record?.dataRoot ?? '', createLogger('cli'));
  const pod = await pods.get(o.namespace, target);
  if (!pod) throw new Error(`instance "${target}" not found in namespace ${o.namespace}`);
  const agent = pods.agentPid(pod);
  if (o.postgresOnly) {
    const token = new LocalSecrets(p.state).agentToken(pod.namespace, pod.cluster);
    const status = await new AgentClient(`http://127.0.0.1:${pod.httpPort}`, { name: target, host: '127.0.0.1', port: pod.port }, token).status().catch(() => undefined);
    if (!status?.postgresPid) throw new Error(`${target}: postgres is not running (agent state: ${status?.state ?? 'unreachable'})`);
    process.kill(status.postgresPid, signal);
    return `sent ${signal} to postgres of ${target} (pid ${status.postgresPid})`;
  }
  // STOP, CONT and KILL act on the whole instance (agent, postmaster and every postgres process), like freezing or
  // killing a pod's cgroup; TERM, INT and QUIT go to the agent's group, which shuts postgres down in order.
  if (o.forSeconds !== undefined && signal !== 'SIGSTOP') throw new Error('--for applies to --signal STOP only (a freeze of that many seconds)');
  if (WHOLE_INSTANCE.has(signal)) {
    const pids = pods.signalInstance(pod, signal);
    if (o.forSeconds !== undefined && pids.length) {
      // One process times the freeze: the thaw comes exactly that long after, whatever the CLI's own start-up costs.
      await new Promise((r) => setTimeout(r, o.forSeconds! * 1000));
      const thawed = pods.signalInstance(pod, 'SIGCONT');
      return `froze ${target} (${pids.length} processes) for ${o.forSeconds} s, then continued ${thawed.length} processes`;
    }
    if (!pids.length) {
      if (signal === 'SIGCONT') return `${target}: no process to continue (the instance is not running)`;
      throw new Error(`${target}: no process of the instance is running`);
    }
    return `sent ${signal} to ${target} (${pids.length} processes: agent ${isAlive(agent) ? agent : 'not running'}, postmaster ${pods.postmasterPid(pod) ?? 'not running'} and its children)`;
  }
  if (!isAlive(agent)) throw new Error(`${target}: the agent is not running`);
  signalGroup(agent, signal);
  return `sent ${signal} to ${target} (agent pid ${agent} and its postgres)`;
}
