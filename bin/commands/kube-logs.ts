// `kubectl pgop logs CLUSTER [INSTANCE]`: each instance's container log (the agent's JSON lines, postgres's own
// lines forwarded by the agent) through the pods/log subresource, every line prefixed with its instance. Without
// -f the instances come one after another; with -f their lines interleave as they arrive, until every container
// ends or the user stops it. Needs `get` on pods and pods/log in the cluster's namespace.
import { Writable } from 'node:stream';
import { Log, type LogOptions, type V1Pod } from '@kubernetes/client-node';
import { httpStatus } from '../../adapters/k8s/client.js';
import type { KubeCluster } from './kube-client.js';

export interface LogsOptions { tail: string; follow?: boolean }

/** A byte stream cut into lines, each handed on with `prefix`; a last line without its newline too, at the end. */
export function prefixedLines(prefix: string, write: (line: string) => void): Writable {
  let partial = '';
  return new Writable({
    decodeStrings: true,
    write(chunk: Buffer, _enc, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) write(`${prefix}${l}`);
      done();
    },
    final(done) { if (partial) write(`${prefix}${partial}`); done(); },
  });
}

/** kubectl's --tail: a count of lines, or -1 for all of them. */
export function tailOption(tail: string): number | undefined {
  if (!/^(-1|\d+)$/.test(tail)) throw new Error(`--tail must be a number of lines (or -1 for all), not "${tail}"`);
  return tail === '-1' ? undefined : Number(tail);
}

/** The instance container: `postgres` in the Pods the operator makes. */
const containerOf = (p: V1Pod) => p.spec?.containers.find((c) => c.name === 'postgres')?.name ?? p.spec?.containers[0]?.name ?? 'postgres';

/** Writes the pods' logs to `out`, prefixed "[instance] "; resolves to the pods whose log could not be read. */
export async function podLogs(k: KubeCluster, pods: V1Pod[], o: LogsOptions, out: (line: string) => void, err: (line: string) => void): Promise<string[]> {
  const options: LogOptions = { follow: o.follow === true, tailLines: tailOption(o.tail) };
  const log = new Log(k.t.kc);
  const failed: string[] = [];
  const one = async (p: V1Pod) => {
    const name = p.metadata?.name ?? '';
    const sink = prefixedLines(`[${name}] `, out);
    const finished = new Promise<void>((resolve, reject) => { sink.on('finish', resolve); sink.on('error', reject); });
    try {
      await log.log(k.t.namespace, name, containerOf(p), sink, options);
      await finished;
    } catch (e) {
      failed.push(name);
      // client-node's message carries the response headers; the status and the apiserver's reason say enough.
      const code = httpStatus(e);
      const reason = (e as { body?: { message?: unknown } }).body?.message;
      err(`[${name}] logs not available: ${code ? `HTTP ${code}${typeof reason === 'string' ? `: ${reason}` : ''}` : (e as Error).message}`);
    }
  };
  if (o.follow) await Promise.all(pods.map(one));
  else for (const p of pods) await one(p);
  return failed;
}
