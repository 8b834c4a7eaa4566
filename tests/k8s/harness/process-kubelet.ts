// A stand-in for the scheduler and kubelet in tests against a bare kube-apiserver: every pod is bound to one of its
// nodes (all on this host) and its first container runs as a host process, in its own process group, on its own
// loopback IP (127.B.0.N, B a block claimed per kubelet).
// Volumes are host directories under `root`; process-kubelet-pod.ts says how the process finds them. A claim stays
// on the node that first ran it, as a local volume does. process-kubelet-nodes.ts keeps the nodes' heartbeats;
// process-kubelet-logs.ts is each node's HTTPS endpoint, which `kubectl logs` reaches through the apiserver.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import { processTree, signalTree } from '../../../adapters/local/processes.js';
import { claimAddressBlock } from './address-block.js';
import { DEFAULT_NODE_GRACE_MS, startNodes } from './process-kubelet-nodes.js';
import { startKubeletEndpoints } from './process-kubelet-logs.js';
import { pkiFiles, type Pki } from './pki.js';
import {
  containerEnv, dir, expand, httpOk, ignore, mergePatch, message, pendingStatus, podStatus, probeTarget, signalGroup, statusCode, volumeOwner,
  type Mount, type ProbeTarget, type RunState,
} from './process-kubelet-pod.js';

export interface ProcessKubeletOptions {
  kubeconfig: string;
  /** Holds pvc/<namespace>/<claim>/ (kept) and pods/<namespace>/<pod>/ (emptyDirs, container.log). */
  root: string;
  nodeName?: string;
  /** Several nodes on this host instead of the one `nodeName`: pods are spread over them. */
  nodes?: string[];
  /** How long a node may miss its heartbeat before it is marked Ready=Unknown (kcm's default: 40 s). */
  nodeGraceMs?: number;
  /** How to run the image's entrypoint (pgop) for a container without `command`. */
  pgopCommand: (args: string[]) => { command: string; args: string[] };
  log?: (line: string) => void;
  /** First loopback address to hand out (127.0.0.N, default 2): suites run side by side pick apart ranges. */
  firstAddress?: number;
  /**
   * Where an image's own files are on this host, per image: a path inside it → a host directory (say the image's
   * /usr/lib/postgresql/15/bin → a directory of links to the installed binaries). Environment values naming such a
   * path are rewritten, so the process runs that image's files. Everything else, and every unlisted image, is the host.
   */
  images?: Record<string, Record<string, string>>;
  /**
   * The cluster PKI, for the nodes' kubelet endpoints (serving certificate, client CA). Default: the one
   * startControlPlane wrote beside the kubeconfig; without one, the nodes serve no endpoint.
   */
  pki?: Pki;
}

export interface ProcessKubelet {
  stop(): Promise<void>;
  podIP(namespace: string, name: string): string | undefined;
  volumeDir(namespace: string, claimName: string): string;
  nodeOf(namespace: string, name: string): string | undefined;
  /** The port of the node's kubelet endpoint (its status.daemonEndpoints.kubeletEndpoint.Port), 0 when none. */
  kubeletPort(node: string): number;
  /**
   * Freezes a node like a stalled VM: every process of its pods (the container's process group and all their
   * descendants) gets SIGSTOP, its heartbeat stops, and this kubelet does nothing for its pods until the thaw.
   * Returns the processes stopped.
   */
  freezeNode(node: string): number;
  /** SIGCONT to the same processes, then the heartbeat and what happened to the node's pods meanwhile. */
  thawNode(node: string): Promise<number>;
}

interface Run extends RunState {
  key: string; namespace: string; name: string; uid: string; node: string;
  restartPolicy: string;
  command: string; args: string[]; env: NodeJS.ProcessEnv; logFile: string;
  /** Where each start of the container began in logFile: the current start's part is its log. */
  logStarts: number[];
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
  const nodeNames = o.nodes?.length ? o.nodes : [o.nodeName ?? 'process-kubelet'];
  const log = o.log ?? (() => undefined);
  const owner = volumeOwner();
  const runs = new Map<string, Run>();
  const ips = new Map<string, string>();
  const block = claimAddressBlock();
  const queues = new Map<string, Promise<void>>();
  const binding = new Set<string>();
  const retries = new Map<string, NodeJS.Timeout>();
  /** Pods being bound (uid → node), counted as the node's load until the informer shows the binding. */
  const bindingTo = new Map<string, string>();
  /** namespace/claim → the node whose disk holds it. */
  const claimNodes = new Map<string, string>();
  /** Per frozen node, the pods whose events wait for the thaw (a deleted pod's last object, else null). */
  const deferred = new Map<string, Map<string, V1Pod | null>>();
  let stopped = false;
  // The host is the image: the process sees the host's environment, minus what would confuse a node:test child.
  const { NODE_TEST_CONTEXT: _t, KUBERNETES_SERVICE_HOST: _h, ...hostEnv } = process.env;

  /** The container's environment with paths inside its image mapped to where that image's files are on this host. */
  const inImage = (image: string, env: Record<string, string>) => {
    const paths = Object.entries(o.images?.[image] ?? {});
    const map = (v: string) => {
      const hit = paths.find(([inside]) => v === inside || v.startsWith(`${inside}/`));
      return hit ? `${hit[1]}${v.slice(hit[0].length)}` : v;
    };
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, map(v)]));
  };
  const volumeDir = (namespace: string, claim: string) => join(o.root, 'pvc', namespace, claim);
  // Every level on the way must be traversable by the volume owner.
  const traversable = (...parts: string[]) => parts.reduce((p, part) => dir(join(p, part), 0o755), dir(o.root, 0o755));

  const pki = o.pki ?? pkiFiles(join(dirname(o.kubeconfig), 'pki'));
  // The endpoints start first (the nodes post their port), and ask the nodes whether they are frozen.
  let frozenNode: (node: string) => boolean = () => false;
  const endpoints = existsSync(pki.kubeletCert) ? await startKubeletEndpoints({
    nodes: nodeNames, pki, authz: kc.makeApiClient(AuthorizationV1Api), log, isFrozen: (n) => frozenNode(n),
    find: (namespace, name) => {
      const r = runs.get(`${namespace}/${name}`);
      return r && { node: r.node, container: r.container.name, file: r.logFile, starts: r.logStarts, running: () => r.pid !== undefined };
    },
  }) : undefined;
  const nodes = await startNodes(core, kc.makeApiClient(CoordinationV1Api), nodeNames, o.nodeGraceMs ?? DEFAULT_NODE_GRACE_MS, log, (n) => endpoints?.port(n) ?? 0);
  frozenNode = (n) => nodes.isFrozen(n);
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
    // A frozen node's kubelet reports nothing.
    if (stopped || nodes.isFrozen(run.node)) return;
    run.statusWrites = run.statusWrites.then(() => patchStatus(run, podStatus(run))).catch((e: unknown) => log(`${run.key}: status: ${message(e)}`));
  };

  /** The pod's processes: the container's process group and every descendant (backends leave the group). */
  const treeOf = (run: Run) => () => (run.pid !== undefined ? processTree([run.pid], [run.pid]) : []);
  const defer = (node: string, key: string, gone: V1Pod | null) => {
    const d = deferred.get(node) ?? new Map<string, V1Pod | null>();
    deferred.set(node, d);
    if (gone || !d.get(key)) d.set(key, gone);
  };

  function onPod(pod: V1Pod): void {
    const key = keyOf(pod);
    const on = pod.spec?.nodeName;
    if (!on) { if (!pod.metadata?.deletionTimestamp) bind(pod, key); } else if (nodes.isFrozen(on)) defer(on, key, null);
    else if (nodeNames.includes(on)) serially(key, () => reconcile(key));
  }

  function onGone(pod: V1Pod): void {
    const key = keyOf(pod);
    binding.delete(pod.metadata?.uid ?? '');
    bindingTo.delete(pod.metadata?.uid ?? '');
    const run = runs.get(key);
    if (!run || run.uid !== pod.metadata?.uid) return;
    // A frozen kubelet learns of it when it thaws; its processes run until then (a force delete does not wait).
    if (nodes.isFrozen(run.node)) return defer(run.node, key, pod);
    // Removed with grace 0 by someone else: kill now, without waiting for a queue slot or a grace period.
    run.ending = true;
    if (run.pid !== undefined) { signalTree(treeOf(run), 'SIGKILL'); signalGroup(run.pid, 'SIGKILL'); }
    serially(key, () => end(run, 0));
  }

  /**
   * The scheduler's part: a pod with a claim goes where the claim's data is (and waits while that node cannot take
   * it); otherwise to the schedulable node with the fewest pods.
   */
  function placement(pod: V1Pod): string | undefined {
    const namespace = pod.metadata?.namespace ?? '';
    const claims = (pod.spec?.volumes ?? []).flatMap((v) => (v.persistentVolumeClaim ? [`${namespace}/${v.persistentVolumeClaim.claimName}`] : []));
    const pinned = claims.map((c) => claimNodes.get(c)).find((n) => n !== undefined);
    const chosen = pinned ?? nodeNames.filter((n) => nodes.schedulable(n)).map((n) => {
      const uids = new Set(informer.list().filter((p) => p.spec?.nodeName === n && !p.metadata?.deletionTimestamp).map((p) => p.metadata?.uid));
      for (const [uid, to] of bindingTo) if (to === n) uids.add(uid);
      return { n, load: uids.size };
    }).sort((a, b) => a.load - b.load)[0]?.n;
    if (chosen === undefined || !nodes.schedulable(chosen)) return undefined;
    for (const c of claims) if (!claimNodes.has(c)) claimNodes.set(c, chosen);
    return chosen;
  }

  function bind(pod: V1Pod, key: string): void {
    const { uid = '', name = '', namespace = '' } = pod.metadata ?? {};
    if (binding.has(uid)) return;
    const node = placement(pod);
    if (node === undefined) { later(key, 1000); return; }
    binding.add(uid);
    bindingTo.set(uid, node);
    core.createNamespacedPodBinding({ namespace, name, body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: node } } })
      .catch((e: unknown) => {
        if (statusCode(e) === 409) return;
        log(`${key}: binding failed: ${message(e)}`);
        binding.delete(uid);
        bindingTo.delete(uid);
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
    env = inImage(c.image ?? '', env);
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
      key, namespace, name, uid, ip, node: spec.nodeName ?? nodeNames[0]!, container: c, startTime: t, restartCount: 0, ready: false, readySince: t,
      probe: probeTarget(c, ip), probeDue: 0, restartPolicy: spec.restartPolicy ?? 'Always', command, args, env: { ...hostEnv, KUBECONFIG: kubeconfigFile, ...env },
      logFile: join(podDir, 'container.log'), logStarts: [], emptyDirs: [...hostDirs.values()].filter((h) => !h.pvc).map((h) => h.path),
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
    run.logStarts.push(fstatSync(out).size);
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
      if (busy || run.pid === undefined || Date.now() < run.probeDue || nodes.isFrozen(run.node)) return;
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
        // Killed at once, it goes like a cgroup: every process of the pod, not just the group.
        if (graceSeconds === 0) signalTree(treeOf(run), 'SIGKILL');
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

  const onNode = (node: string) => [...runs.values()].filter((r) => r.node === node);
  const signalNode = (node: string, signal: NodeJS.Signals) =>
    signalTree(() => onNode(node).flatMap((r) => treeOf(r)()), signal).length;

  return {
    podIP: (namespace, name) => ips.get(`${namespace}/${name}`),
    volumeDir,
    kubeletPort: (node) => endpoints?.port(node) ?? 0,
    nodeOf: (namespace, name) => runs.get(`${namespace}/${name}`)?.node ?? informer.get(name, namespace)?.spec?.nodeName,
    freezeNode(node) {
      if (!nodeNames.includes(node)) throw new Error(`no node ${node} here`);
      // The kubelet stops first, so it cannot react to its processes stopping (probes, exits).
      nodes.freeze(node);
      return signalNode(node, 'SIGSTOP');
    },
    async thawNode(node) {
      const n = signalNode(node, 'SIGCONT');
      // The kubelet acts on what it missed at once; its status posts (slow on a loaded apiserver) come after.
      const thawed = nodes.thaw(node);
      const pending = deferred.get(node) ?? new Map<string, V1Pod | null>();
      deferred.delete(node);
      for (const [key, gone] of pending) {
        if (gone) onGone(gone);
        else { const pod = latest(key); if (pod) onPod(pod); }
      }
      // A pod deleted meanwhile whose delete event came before the freeze's record of it: nothing of it may run on.
      for (const run of onNode(node)) if (!latest(run.key) || latest(run.key)?.metadata?.uid !== run.uid) serially(run.key, () => end(run, 0));
      await thawed;
      return n;
    },
    async stop() {
      stopped = true;
      nodes.stop();
      for (const node of nodeNames) if (nodes.isFrozen(node)) signalNode(node, 'SIGCONT');
      clearTimeout(rewatch);
      for (const t of retries.values()) clearTimeout(t);
      await informer.stop();
      await endpoints?.stop();
      await Promise.all([...runs.values()].map((r) => end(r, 10)));
      await Promise.all([...queues.values()]);
      block.release();
    },
  };
}
