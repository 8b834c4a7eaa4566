// A stand-in for the scheduler and kubelet in tests against a bare kube-apiserver: every pod is bound to one node
// and its first container runs as a host process, in its own process group, on its own loopback IP (127.B.0.N, B
// a block claimed per kubelet).
// Volumes are host directories under `root`; process-kubelet-pod.ts says how the process finds them.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { claimAddressBlock } from './address-block.js';
import {
  containerEnv, dir, ensureNode, expand, httpOk, ignore, mergePatch, message, pendingStatus, podStatus, probeTarget, signalGroup, statusCode, volumeOwner,
  type Mount, type ProbeTarget, type RunState,
} from './process-kubelet-pod.js';

export interface ProcessKubeletOptions {
  kubeconfig: string;
  /** Holds pvc/<namespace>/<claim>/ (kept) and pods/<namespace>/<pod>/ (emptyDirs, container.log). */
  root: string;
  nodeName?: string;
  /** How to run the image's entrypoint (pgop) for a container without `command`. */
  pgopCommand: (args: string[]) => { command: string; args: string[] };
  log?: (line: string) => void;
  /** First loopback address to hand out (127.0.0.N, default 2): suites run side by side pick apart ranges. */
  firstAddress?: number;
}

export interface ProcessKubelet {
  stop(): Promise<void>;
  podIP(namespace: string, name: string): string | undefined;
  volumeDir(namespace: string, claimName: string): string;
}

interface Run extends RunState {
  key: string; namespace: string; name: string; uid: string;
  restartPolicy: string;
  command: string; args: string[]; env: NodeJS.ProcessEnv; logFile: string;
  emptyDirs: string[];
  probe?: ProbeTarget;
  probeDue: number;
  exited: Promise<void>;
  /** Set once the pod is going: an exit is then final. */
  ending: boolean;
  ended?: Promise<void>;
  backoffMs: number;
  timers: NodeJS.Timeout[];
  statusWrites: Promise<void>;
}

const now = () => new Date().toISOString();
const keyOf = (pod: V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;

export async function startProcessKubelet(o: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const kc = new KubeConfig();
  kc.loadFromFile(o.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const node = o.nodeName ?? 'process-kubelet';
  const log = o.log ?? (() => undefined);
  const owner = volumeOwner();
  const runs = new Map<string, Run>();
  const ips = new Map<string, string>();
  const block = claimAddressBlock();
  const queues = new Map<string, Promise<void>>();
  const binding = new Set<string>();
  const retries = new Map<string, NodeJS.Timeout>();
  let stopped = false;
  // The host is the image: the process sees the host's environment, minus what would confuse a node:test child.
  const { NODE_TEST_CONTEXT: _t, KUBERNETES_SERVICE_HOST: _h, ...hostEnv } = process.env;

  const volumeDir = (namespace: string, claim: string) => join(o.root, 'pvc', namespace, claim);
  // Every level on the way must be traversable by the volume owner.
  const traversable = (...parts: string[]) => parts.reduce((p, part) => dir(join(p, part), 0o755), dir(o.root, 0o755));

  await ensureNode(core, node);
  const informer = makeInformer(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  const latest = (key: string) => { const [ns, name] = key.split('/'); return informer.get(name ?? '', ns); };

  /** One thing at a time per pod, always on the newest cached object, so stale events cannot act. */
  const serially = (key: string, fn: () => Promise<void>) => {
    const next = (queues.get(key) ?? Promise.resolve()).then(fn).catch((e: unknown) => log(`${key}: ${message(e)}`));
    queues.set(key, next);
    void next.then(() => { if (queues.get(key) === next) queues.delete(key); });
  };
  // Nothing watched announces a created claim or secret (or a failed binding's cure): look again later.
  const later = (key: string, ms: number) => {
    if (retries.has(key) || stopped) return;
    retries.set(key, setTimeout(() => { retries.delete(key); const pod = latest(key); if (pod) onPod(pod); }, ms));
  };
  const patchStatus = (r: { namespace: string; name: string; uid: string }, status: object) =>
    // The uid makes a write meant for a deleted pod fail on its same-named successor.
    core.patchNamespacedPodStatus({ namespace: r.namespace, name: r.name, body: { metadata: { uid: r.uid }, status } }, mergePatch).then(() => undefined, ignore(404));
  const pushStatus = (run: Run) => {
    if (stopped) return;
    run.statusWrites = run.statusWrites.then(() => patchStatus(run, podStatus(run))).catch((e: unknown) => log(`${run.key}: status: ${message(e)}`));
  };

  function onPod(pod: V1Pod): void {
    const key = keyOf(pod);
    if (!pod.spec?.nodeName) { if (!pod.metadata?.deletionTimestamp) bind(pod, key); } else if (pod.spec.nodeName === node) serially(key, () => reconcile(key));
  }

  function onGone(pod: V1Pod): void {
    const key = keyOf(pod);
    binding.delete(pod.metadata?.uid ?? '');
    const run = runs.get(key);
    if (!run || run.uid !== pod.metadata?.uid) return;
    // Removed with grace 0 by someone else: kill now, without waiting for a queue slot or a grace period.
    run.ending = true;
    if (run.pid !== undefined) signalGroup(run.pid, 'SIGKILL');
    serially(key, () => end(run, 0));
  }

  function bind(pod: V1Pod, key: string): void {
    const { uid = '', name = '', namespace = '' } = pod.metadata ?? {};
    if (binding.has(uid)) return;
    binding.add(uid);
    core.createNamespacedPodBinding({ namespace, name, body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: node } } })
      .catch((e: unknown) => {
        if (statusCode(e) === 409) return;
        log(`${key}: binding failed: ${message(e)}`);
        binding.delete(uid);
        later(key, 1000);
      });
  }

  async function reconcile(key: string): Promise<void> {
    const pod = latest(key);
    if (!pod || stopped) return;
    const { uid = '', name = '', namespace = '' } = pod.metadata ?? {};
    let run = runs.get(key);
    if (run && run.uid !== uid) { await end(run, 0); run = undefined; }
    if (pod.metadata?.deletionTimestamp) {
      log(`${key}: terminating${run ? ` pid ${run.pid}` : ''}`);
      if (run) await end(run, Math.min(30, pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30));
      // The apiserver keeps a gracefully deleted pod of a node until that node's kubelet removes it.
      // With a body, the apiserver ignores query parameters: the grace period must be in the body too.
      await core.deleteNamespacedPod({ namespace, name, body: { gracePeriodSeconds: 0, preconditions: { uid } } }).catch(ignore(404, 409));
      log(`${key}: removed`);
    } else if (!run && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')) await start(pod, key);
  }

  function allocate(key: string, previous?: string): string {
    const used = new Set(ips.values());
    const free = (ip?: string) => ip !== undefined && /^127\.\d+\.\d+\.\d+$/.test(ip) && ip !== '127.0.0.1' && !used.has(ip);
    // A pod's IP may not change once reported, so a pod found running (this kubelet restarted) keeps its own.
    let ip = free(previous) ? previous : undefined;
    for (let n = o.firstAddress ?? 2; !ip && n < 255; n++) if (free(`${block.prefix}${n}`)) ip = `${block.prefix}${n}`;
    if (!ip) throw new Error('no free loopback address');
    ips.set(key, ip);
    return ip;
  }

  async function start(pod: V1Pod, key: string): Promise<void> {
    const { uid = '', name = '', namespace = '' } = pod.metadata ?? {};
    const spec = pod.spec!;
    const c = spec.containers[0]!;
    const pending = async (reason: string, msg: string) => {
      if (pod.status?.message !== msg) { log(`${key}: pending: ${msg}`); await patchStatus({ namespace, name, uid }, pendingStatus(reason, msg, now())); }
      later(key, 2000);
    };
    for (const v of spec.volumes ?? []) {
      const claim = v.persistentVolumeClaim?.claimName;
      if (claim && !(await core.readNamespacedPersistentVolumeClaim({ namespace, name: claim }).then(() => true, (e: unknown) => { ignore(404)(e); return false; }))) {
        return pending('VolumesNotReady', `persistentvolumeclaim "${claim}" not found`);
      }
    }
    const hostDirs = new Map<string, { path: string; pvc: boolean }>();
    for (const v of spec.volumes ?? []) {
      if (v.persistentVolumeClaim) hostDirs.set(v.name, { path: volumeDir(namespace, v.persistentVolumeClaim.claimName), pvc: true });
      else if (v.emptyDir) hostDirs.set(v.name, { path: join(o.root, 'pods', namespace, name, v.name), pvc: false });
      else log(`${key}: volume ${v.name} is neither a persistentVolumeClaim nor an emptyDir; not mounted`);
    }
    const mounts: Mount[] = (c.volumeMounts ?? []).flatMap((m) => {
      const h = hostDirs.get(m.name);
      return h ? [{ mountPath: m.mountPath.replace(/\/+$/, ''), volume: m.name, hostDir: m.subPath ? join(h.path, m.subPath) : h.path }] : [];
    });
    const ip = allocate(key, pod.status?.podIP);
    let env: Record<string, string>;
    try { env = await containerEnv(core, pod, c, ip, mounts); } catch (e) { ips.delete(key); return pending('CreateContainerConfigError', message(e)); }
    // The agent gets its Pod's ServiceAccount, as in a real cluster, so the Role the operator grants is what is tested.
    let kubeconfigFile = o.kubeconfig;
    if (spec.serviceAccountName) {
      try { kubeconfigFile = await serviceAccountKubeconfig(spec.serviceAccountName, namespace, traversable('pods', namespace, name)); } catch (e) {
        ips.delete(key);
        return pending('CreateContainerConfigError', `serviceaccount ${spec.serviceAccountName}: ${message(e)}`);
      }
    }
    // The pod may have vanished while we read the API; its delete event found nothing to stop.
    if (stopped || latest(key)?.metadata?.uid !== uid) { ips.delete(key); return; }
    traversable('pvc', namespace);
    const podDir = traversable('pods', namespace, name);
    for (const h of hostDirs.values()) dir(h.path, h.pvc ? 0o700 : 0o755, owner);
    for (const m of mounts) dir(m.hostDir, 0o755, owner);
    const x = (s: string) => expand(s, env);
    const { command, args } = c.command?.length
      ? { command: x(c.command[0]!), args: [...c.command.slice(1), ...(c.args ?? [])].map(x) }
      : o.pgopCommand((c.args ?? []).map(x));
    const t = now();
    const run: Run = {
      key, namespace, name, uid, ip, container: c, startTime: t, restartCount: 0, ready: false, readySince: t,
      probe: probeTarget(c, ip), probeDue: 0, restartPolicy: spec.restartPolicy ?? 'Always', command, args, env: { ...hostEnv, KUBECONFIG: kubeconfigFile, ...env },
      logFile: join(podDir, 'container.log'), emptyDirs: [...hostDirs.values()].filter((h) => !h.pvc).map((h) => h.path),
      exited: Promise.resolve(), ending: false, backoffMs: 1000, timers: [], statusWrites: Promise.resolve(),
    };
    runs.set(key, run);
    launch(run);
    watchReadiness(run);
  }

  /** A kubeconfig holding a bound token of the ServiceAccount (the TokenRequest API), next to the pod's log. */
  async function serviceAccountKubeconfig(account: string, namespace: string, podDir: string): Promise<string> {
    const token = await core.createNamespacedServiceAccountToken({ name: account, namespace, body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } } });
    const cluster = kc.getCurrentCluster();
    if (!cluster || !token.status?.token) throw new Error('no token issued');
    const sa = new KubeConfig();
    sa.loadFromOptions({
      clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: cluster.skipTLSVerify }],
      users: [{ name: account, token: token.status.token }],
      contexts: [{ name: 'test', cluster: 'test', user: account, namespace }],
      currentContext: 'test',
    });
    const file = join(podDir, 'kubeconfig');
    writeFileSync(file, sa.exportConfig(), { mode: 0o600 });
    return file;
  }

  function launch(run: Run): void {
    if (run.ending || stopped) return;
    const out = openSync(run.logFile, 'a');
    const child = spawn(run.command, run.args, { detached: true, stdio: ['ignore', out, out], cwd: '/', env: run.env });
    closeSync(out);
    const startedAt = now();
    Object.assign(run, { pid: child.pid, startedAt, waiting: undefined, ready: !run.probe, probeDue: Date.now() + (run.probe?.delayMs ?? 0) });
    if (run.ready) run.readySince = startedAt;
    run.exited = new Promise((resolve) => {
      let done = false;
      const exited = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        // A container's other processes die with its first one.
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        Object.assign(run, { pid: undefined, ready: false, readySince: run.ready ? now() : run.readySince });
        const signo = signal ? constants.signals[signal] : undefined;
        run.lastTerminated = { exitCode: code ?? 128 + (signo ?? 0), signal: signo, startedAt, finishedAt: now() };
        resolve();
        if (!run.ending && !stopped) restart(run, code, Date.parse(startedAt));
      };
      child.once('exit', exited);
      child.once('error', (e) => { appendFileSync(run.logFile, `process kubelet: ${e.message}\n`); exited(128, null); });
    });
    pushStatus(run);
  }

  function restart(run: Run, code: number | null, startedAt: number): void {
    if (run.restartPolicy === 'Never' || (run.restartPolicy === 'OnFailure' && code === 0)) {
      run.terminal = code === 0 ? 'Succeeded' : 'Failed';
      return pushStatus(run);
    }
    if (Date.now() - startedAt > 20_000) run.backoffMs = 1000; // ran long enough to count as healthy again
    const delay = run.backoffMs;
    run.backoffMs = Math.min(10_000, delay * 2);
    run.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${delay / 1000}s restarting failed container ${run.container.name}` };
    pushStatus(run);
    run.timers.push(setTimeout(() => { run.restartCount++; launch(run); }, delay));
  }

  // Ticks often so that a (re)started process is probed at once rather than a whole period later.
  function watchReadiness(run: Run): void {
    const target = run.probe;
    if (!target) return;
    let failures = 0;
    let busy = false;
    run.timers.push(setInterval(() => {
      if (busy || run.pid === undefined || Date.now() < run.probeDue) return;
      busy = true;
      run.probeDue = Date.now() + target.periodMs;
      void httpOk(target.url, target.timeoutMs).then((ok) => {
        busy = false;
        failures = ok ? 0 : failures + 1;
        const ready = ok || (run.ready && failures < target.failures);
        if (run.pid === undefined || ready === run.ready) return;
        Object.assign(run, { ready, readySince: now() });
        pushStatus(run);
      });
    }, 250));
  }

  /** SIGTERM, the grace period, SIGKILL; then the pod's IP and emptyDirs are free. Idempotent. */
  function end(run: Run, graceSeconds: number): Promise<void> {
    run.ending = true;
    return run.ended ??= (async () => {
      for (const t of run.timers) clearTimeout(t);
      if (run.pid !== undefined) {
        const pid = run.pid;
        signalGroup(pid, graceSeconds > 0 ? 'SIGTERM' : 'SIGKILL');
        await new Promise<void>((resolve) => { const t = setTimeout(resolve, graceSeconds * 1000); void run.exited.then(() => { clearTimeout(t); resolve(); }); });
        signalGroup(pid, 'SIGKILL');
        await run.exited;
      }
      for (const d of run.emptyDirs) rmSync(d, { recursive: true, force: true });
      if (runs.get(run.key) === run) { runs.delete(run.key); ips.delete(run.key); }
    })();
  }

  let rewatch: NodeJS.Timeout | undefined;
  informer.on('add', onPod);
  informer.on('update', onPod);
  informer.on('delete', onGone);
  // client-node's informer gives up on any error but 410 Gone.
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    log(`pod watch failed (${message(err)}); restarting it`);
    clearTimeout(rewatch);
    rewatch = setTimeout(() => { if (!stopped) void informer.start().catch((e: unknown) => log(`pod watch: ${message(e)}`)); }, 1000);
  });
  await informer.start();

  return {
    podIP: (namespace, name) => ips.get(`${namespace}/${name}`),
    volumeDir,
    async stop() {
      stopped = true;
      clearTimeout(rewatch);
      for (const t of retries.values()) clearTimeout(t);
      await informer.stop();
      await Promise.all([...runs.values()].map((r) => end(r, 10)));
      await Promise.all([...queues.values()]);
      block.release();
    },
  };
}
