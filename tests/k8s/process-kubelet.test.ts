// The process kubelet against a real kube-apiserver: binding, a real process on a loopback IP with a claim and an
// emptyDir "mounted", readiness from an HTTP probe, restart after a crash, and graceful deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from './harness/control-plane.js';
import { startProcessKubelet, type ProcessKubelet } from './harness/process-kubelet.js';
import { pgopCommand } from '../../adapters/local/self.js';
import { volumeOwner } from './harness/process-kubelet-pod.js';

const ns = 'kubelet';
const claim = 'data';
let cp: ControlPlane;
let kubelet: ProcessKubelet;
let core: CoreV1Api;
let root: string;
const kubeletLog: string[] = [];

before(async () => {
  cp = await startControlPlane();
  root = mkdtempSync(join(tmpdir(), 'pgop-kubelet-'));
  kubelet = await startProcessKubelet({ kubeconfig: cp.kubeconfig, root, pgopCommand, log: (l) => kubeletLog.push(l) });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
}, { timeout: 60 * 60_000 });
after(async () => {
  await kubelet?.stop();
  await cp?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const readPod = (name = 'web') => core.readNamespacedPod({ namespace: ns, name });
const condition = (p: V1Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;
const pidOf = (p: V1Pod) => Number(p.status?.containerStatuses?.[0]?.containerID?.replace('process://', ''));
const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) {
      const pods = await core.listNamespacedPod({ namespace: ns }).then((l) => l.items.map((p) => JSON.stringify({
        name: p.metadata?.name, deletionTimestamp: p.metadata?.deletionTimestamp, status: p.status })).join('\n'), (e: unknown) => String(e));
      const logs = ['web', 'sleeper', 'last'].map((n) => join(root, 'pods', ns, n, 'container.log')).filter((f) => existsSync(f))
        .map((f) => `${f}:\n${readFileSync(f, 'utf8').slice(-2000)}`).join('\n');
      throw new Error(`timed out waiting for ${what}\npods: ${pods}\nkubelet: ${kubeletLog.join('\n')}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const script = 'echo "$POD_NAME $POD_IP" > "$OUT"; touch "$PGOP_MOUNT_SCRATCH/here"; exec python3 -m http.server 8080 --bind "$POD_IP"';

test('a pod waits for its claim, then is bound, runs on its own loopback IP with its volumes, and becomes ready', async () => {
  await core.createNamespacedPod({ namespace: ns, body: {
    metadata: { name: 'web' },
    spec: {
      containers: [{
        name: 'web', image: 'python:3', command: ['/bin/sh', '-c', script],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'OUT', value: '/var/lib/web/$(POD_NAME).txt' },
        ],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 1 },
        volumeMounts: [{ name: 'data', mountPath: '/var/lib/web' }, { name: 'scratch', mountPath: '/scratch' }],
      }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }, { name: 'scratch', emptyDir: {} }],
    },
  } });
  const pending = await until('the pod to be bound and pending on its claim', async () => {
    const p = await readPod();
    return p.spec?.nodeName === 'process-kubelet' && p.status?.message?.includes(`persistentvolumeclaim "${claim}" not found`) && p;
  });
  assert.equal(pending.status?.phase, 'Pending');
  assert.equal((await core.readNode({ name: 'process-kubelet' })).status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');

  await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: {
    metadata: { name: claim }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  } });
  const pod = await until('the pod to run and be ready', async () => { const p = await readPod(); return condition(p, 'Ready') === 'True' && p; });
  assert.equal(pod.status?.phase, 'Running');
  const ip = pod.status?.podIP ?? '';
  assert.match(ip, /^127\.\d+\.0\.\d+$/);
  assert.notEqual(ip, '127.0.0.1');
  assert.deepEqual(pod.status?.podIPs?.map((x) => x.ip), [ip]);
  assert.equal(pod.status?.hostIP, '127.0.0.1');
  assert.equal(kubelet.podIP(ns, 'web'), ip);
  assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
  assert.ok(alive(pidOf(pod)));
  assert.equal(readFileSync(join(kubelet.volumeDir(ns, claim), 'web.txt'), 'utf8'), `web ${ip}\n`);
  const owner = volumeOwner();
  if (owner) assert.equal(statSync(kubelet.volumeDir(ns, claim)).uid, owner.uid, 'running as root, the claim belongs to postgres');
  assert.ok(existsSync(join(root, 'pods', ns, 'web', 'scratch', 'here')), 'the emptyDir is reachable through PGOP_MOUNT_SCRATCH');
  assert.equal((await fetch(`http://${ip}:8080/`)).status, 200);
});

test('a killed process is restarted, counted, and ready again', async () => {
  const before = await readPod();
  const pid = pidOf(before);
  process.kill(pid, 'SIGKILL');
  const after = await until('a restart', async () => {
    const p = await readPod();
    return p.status?.containerStatuses?.[0]?.restartCount === 1 && condition(p, 'Ready') === 'True' && p;
  });
  assert.notEqual(pidOf(after), pid);
  assert.ok(alive(pidOf(after)));
  assert.equal(after.status?.podIP, before.status?.podIP, 'the IP belongs to the pod, not the process');
  assert.deepEqual([after.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, after.status?.containerStatuses?.[0]?.lastState?.terminated?.signal], [137, 9]);
});

test('graceful deletion stops the process and removes the pod and its emptyDir, keeping the claim data', async () => {
  const pid = pidOf(await readPod());
  await core.deleteNamespacedPod({ namespace: ns, name: 'web' });
  await until('the pod object to disappear', () => readPod().then(() => false, (e: unknown) => (e as { code?: number }).code === 404));
  await until('the process to exit', async () => !alive(pid));
  assert.equal(kubelet.podIP(ns, 'web'), undefined);
  assert.ok(!existsSync(join(root, 'pods', ns, 'web', 'scratch')), 'the emptyDir goes with the pod');
  assert.match(readFileSync(join(kubelet.volumeDir(ns, claim), 'web.txt'), 'utf8'), /^web 127\.\d+\.0\.\d+\n$/);
});

test('a pod removed with grace 0 by someone else loses its whole process group at once', async () => {
  await core.createNamespacedPod({ namespace: ns, body: {
    metadata: { name: 'sleeper' },
    spec: {
      terminationGracePeriodSeconds: 30,
      containers: [{ name: 'sleeper', image: 'busybox', command: ['/bin/sh', '-c', 'trap "" TERM; sleep 1000 & echo $$! > "$PGOP_MOUNT_SCRATCH/child"; wait'],
        volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  } });
  const pod = await until('the sleeper to run', async () => { const p = await readPod('sleeper'); return condition(p, 'Ready') === 'True' && p; });
  const childFile = join(root, 'pods', ns, 'sleeper', 'scratch', 'child');
  const child = await until('the child pid', async () => existsSync(childFile) && Number(readFileSync(childFile, 'utf8')));
  await core.deleteNamespacedPod({ namespace: ns, name: 'sleeper', gracePeriodSeconds: 0 });
  await until('both processes to die', async () => !alive(pidOf(pod)) && !alive(child), 5000);
  assert.equal(kubelet.podIP(ns, 'sleeper'), undefined);
});

test('stop() ends the processes it started and keeps the claim data', async () => {
  await core.createNamespacedPod({ namespace: ns, body: {
    metadata: { name: 'last' },
    spec: { containers: [{ name: 'last', image: 'busybox', command: ['sleep', '1000'] }] },
  } });
  const pod = await until('the pod to run', async () => { const p = await readPod('last'); return condition(p, 'Ready') === 'True' && p; });
  await kubelet.stop();
  assert.ok(!alive(pidOf(pod)));
  assert.ok(existsSync(join(kubelet.volumeDir(ns, claim), 'web.txt')));
});
