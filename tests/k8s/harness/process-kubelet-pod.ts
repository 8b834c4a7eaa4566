// The stateless half of the process kubelet: the container's environment (with "mounts" as rewritten paths),
// readiness probe checks, the pod status it reports, and small host and API chores.
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { isRoot, lookupUser, type OsUser } from '../../../adapters/os/os-user.js';

export interface Mount { mountPath: string; volume: string; hostDir: string }

const now = () => new Date().toISOString();
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const statusCode = (e: unknown): number | undefined =>
  (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : undefined);
export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
export const ignore = (...codes: number[]) => (e: unknown) => { if (!codes.includes(statusCode(e) ?? 0)) throw e; };
export const signalGroup = (pid: number, signal: NodeJS.Signals) => { try { process.kill(-pid, signal); } catch { /* already gone */ } };

/** The container runs postgres as this user, so its volumes are handed over as an image's fsGroup would do. */
export function volumeOwner(): OsUser | null {
  if (!isRoot()) return null;
  try { return lookupUser('postgres'); } catch { return null; }
}

export function dir(path: string, mode: number, owner: OsUser | null = null): string {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
  if (owner) chownSync(path, owner.uid, owner.gid);
  return path;
}

/** Registers the node and posts Ready, its addresses and (when it serves one) its kubelet endpoint's port. */
export async function ensureNode(core: CoreV1Api, name: string, kubeletPort = 0): Promise<void> {
  await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name } } } }).catch(ignore(409));
  const t = now();
  await core.patchNodeStatus({ name, body: { status: {
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'process kubelet is running', lastHeartbeatTime: t, lastTransitionTime: t }],
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
    ...(kubeletPort ? { daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } } } : {}),
  } } }, mergePatch);
}

/** Kubernetes' $(VAR) references in env values, command and args; unknown names stay literal, as in kubelet. */
export const expand = (s: string, env: Record<string, string>) =>
  s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => (name === undefined ? '$' : env[name] ?? m));

/** There is no mount namespace, so a path under a mountPath only reaches the process through a host path. */
function rewrite(value: string, mounts: Mount[]): string {
  const m = mounts.filter((x) => value === x.mountPath || value.startsWith(`${x.mountPath}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  return m ? m.hostDir + value.slice(m.mountPath.length) : value;
}

export async function containerEnv(core: CoreV1Api, pod: V1Pod, c: V1Container, podIP: string, mounts: Mount[]): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? '';
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name, 'metadata.namespace': namespace, 'metadata.uid': pod.metadata?.uid,
    'status.podIP': podIP, 'status.hostIP': '127.0.0.1', 'spec.nodeName': pod.spec?.nodeName, 'spec.serviceAccountName': pod.spec?.serviceAccountName,
  };
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    let value: string | undefined;
    if (!from) value = expand(e.value ?? '', env);
    else if (from.fieldRef) value = fields[from.fieldRef.fieldPath];
    else if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = (from.secretKeyRef ?? from.configMapKeyRef)!;
      const data = await (from.secretKeyRef
        ? core.readNamespacedSecret({ namespace, name: ref.name ?? '' }).then((s) => s.data?.[ref.key] && Buffer.from(s.data[ref.key]!, 'base64').toString())
        : core.readNamespacedConfigMap({ namespace, name: ref.name ?? '' }).then((m) => m.data?.[ref.key]))
        .catch((err: unknown) => { if (statusCode(err) === 404) return undefined; throw err; });
      if (data === undefined && !ref.optional) throw new Error(`${from.secretKeyRef ? 'secret' : 'configmap'} "${ref.name}" has no key "${ref.key}"`);
      value = data;
    } else throw new Error(`env ${e.name}: unsupported valueFrom`);
    if (value !== undefined) env[e.name] = rewrite(value, mounts);
  }
  for (const m of mounts) env[`PGOP_MOUNT_${m.volume.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`] = m.hostDir;
  return env;
}

export interface ProbeTarget { url: string; periodMs: number; timeoutMs: number; failures: number; delayMs: number }

/** The readiness probe target, or undefined when the container has no httpGet probe (ready once started). */
export function probeTarget(c: V1Container, podIP: string): ProbeTarget | undefined {
  const p = c.readinessProbe;
  const get = p?.httpGet;
  if (!p || !get) return undefined;
  const port = typeof get.port === 'number' ? get.port : c.ports?.find((x) => x.name === get.port)?.containerPort ?? Number(get.port);
  const scheme = get.scheme?.toUpperCase() === 'HTTPS' ? 'https' : 'http';
  return {
    url: `${scheme}://${get.host || podIP}:${port}${get.path ?? '/'}`,
    periodMs: Math.max(1, p.periodSeconds ?? 2) * 1000,
    timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
    failures: Math.max(1, p.failureThreshold ?? 3),
    delayMs: (p.initialDelaySeconds ?? 0) * 1000,
  };
}

/** kubelet's success rule: any 2xx/3xx; it does not verify HTTPS certificates either. */
export function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

export interface RunState {
  ip: string;
  container: V1Container;
  startTime: string;
  pid?: number;
  startedAt?: string;
  restartCount: number;
  ready: boolean;
  readySince: string;
  waiting?: { reason: string; message: string };
  lastTerminated?: { exitCode: number; signal?: number; startedAt?: string; finishedAt: string };
  terminal?: 'Succeeded' | 'Failed';
}

/** The whole status each time: a merge patch replaces lists, so stale entries cannot linger. */
export function podStatus(r: RunState): Record<string, unknown> {
  const terminated = (t: NonNullable<RunState['lastTerminated']>) => ({
    terminated: { exitCode: t.exitCode, signal: t.signal, reason: t.exitCode === 0 ? 'Completed' : 'Error', startedAt: t.startedAt, finishedAt: t.finishedAt },
  });
  const state = r.pid !== undefined ? { running: { startedAt: r.startedAt } }
    : r.terminal && r.lastTerminated ? terminated(r.lastTerminated) : { waiting: r.waiting ?? { reason: 'ContainerCreating', message: '' } };
  const cond = (type: string, ok: boolean, since: string) => ({ type, status: ok ? 'True' : 'False', lastTransitionTime: since });
  return {
    phase: r.terminal ?? 'Running',
    hostIP: '127.0.0.1', hostIPs: [{ ip: '127.0.0.1' }], podIP: r.ip, podIPs: [{ ip: r.ip }], startTime: r.startTime,
    containerStatuses: [{
      name: r.container.name, image: r.container.image ?? '', imageID: '', containerID: r.pid !== undefined ? `process://${r.pid}` : undefined,
      ready: r.ready, started: r.pid !== undefined, restartCount: r.restartCount, state,
      lastState: r.lastTerminated && !r.terminal ? terminated(r.lastTerminated) : {},
    }],
    conditions: [cond('PodScheduled', true, r.startTime), cond('Initialized', true, r.startTime),
      cond('ContainersReady', r.ready, r.readySince), cond('Ready', r.ready, r.readySince)],
    message: null, reason: null,
  };
}

/** A pod this kubelet cannot start yet (a missing claim or secret): it stays Pending and says why. */
export const pendingStatus = (reason: string, msg: string, since: string) => ({
  phase: 'Pending', reason, message: msg,
  conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: since }, { type: 'Ready', status: 'False', reason, message: msg, lastTransitionTime: since }],
});
