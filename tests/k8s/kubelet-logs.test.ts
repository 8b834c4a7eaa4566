// `kubectl logs` against the test apiserver: the apiserver reaches the process kubelet's HTTPS endpoint at the port
// the node advertises, with its kubelet client certificate, and gets what the container process wrote (stdout and
// stderr): the current start's part, --tail, --previous after a restart, and -f following until the container ends.
// The endpoint refuses a caller without a certificate of the cluster CA (401) and one RBAC does not allow (403).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './harness/control-plane.js';
import { startProcessKubelet, type ProcessKubelet } from './harness/process-kubelet.js';
import { pkiFiles } from './harness/pki.js';
import { pgopCommand } from '../../adapters/local/self.js';

const ns = 'logs';
const node = 'process-kubelet';
let cp: ControlPlane;
let kubelet: ProcessKubelet;
let core: CoreV1Api;
let root: string;
const kubeletLog: string[] = [];

before(async () => {
  cp = await startControlPlane();
  root = mkdtempSync(join(tmpdir(), 'pgop-kubelet-logs-'));
  kubelet = await startProcessKubelet({ kubeconfig: cp.kubeconfig, root, pgopCommand, nodeName: node, log: (l) => kubeletLog.push(l) });
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

const kubectl = (args: string[]) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
  execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, '-n', ns, ...args], { encoding: 'utf8', timeout: 120_000 },
    (err, stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
});

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await probe().catch((e: unknown) => { last = e; return undefined; });
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last)})\nkubelet: ${kubeletLog.join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The first start writes five lines (one on stderr) and fails; the restarted one writes its own, then a late line
// a few seconds on, and ends well (OnFailure: the pod then Succeeds).
const script = [
  'n=$(cat "$PGOP_MOUNT_SCRATCH/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$PGOP_MOUNT_SCRATCH/n"',
  'for i in 1 2 3 4; do echo "start $n line $i"; done',
  'echo "start $n on stderr" >&2',
  'if [ $n -lt 2 ]; then exit 1; fi',
  'sleep 6; echo "start $n late line"; sleep 1; exit 0',
].join('\n');

test('kubectl logs reads the container\'s output through the apiserver: current start, --tail, --previous, -f', async () => {
  const n = await core.readNode({ name: node });
  assert.equal(n.status?.daemonEndpoints?.kubeletEndpoint?.Port, kubelet.kubeletPort(node));
  assert.ok(kubelet.kubeletPort(node) > 0);
  assert.deepEqual(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, '127.0.0.1');

  await core.createNamespacedPod({ namespace: ns, body: {
    metadata: { name: 'talker' },
    spec: {
      restartPolicy: 'OnFailure',
      containers: [{ name: 'talk', image: 'busybox', command: ['/bin/sh', '-c', script], volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }],
      volumes: [{ name: 'scratch', emptyDir: {} }],
    },
  } });
  // The second start has written its lines (and not yet its late one).
  const second = await until('the restarted container\'s lines', async () => {
    const r = await kubectl(['logs', 'talker']);
    return r.status === 0 && r.stdout.includes('start 2 on stderr') && r.stdout;
  });
  assert.equal(second.includes('start 1'), false, 'only the current start\'s log');
  assert.match(second, /^start 2 line 1\nstart 2 line 2\nstart 2 line 3\nstart 2 line 4\nstart 2 on stderr\n/);

  const follow = kubectl(['logs', '-f', 'talker', '-c', 'talk']);
  const tail = await kubectl(['logs', 'talker', '--tail', '2']);
  assert.equal(tail.status, 0, tail.stderr);
  assert.equal(tail.stdout, 'start 2 line 4\nstart 2 on stderr\n');

  const previous = await kubectl(['logs', 'talker', '--previous']);
  assert.equal(previous.status, 0, previous.stderr);
  assert.equal(previous.stdout, 'start 1 line 1\nstart 1 line 2\nstart 1 line 3\nstart 1 line 4\nstart 1 on stderr\n');

  // -f ends by itself when the container does, having passed on what came after it began.
  const followed = await follow;
  assert.equal(followed.status, 0, followed.stderr);
  assert.match(followed.stdout, /start 2 line 1\n[^]*start 2 late line\n$/);

  const wrong = await kubectl(['logs', 'talker', '-c', 'nosuch']);
  assert.notEqual(wrong.status, 0);
  assert.match(wrong.stderr, /container nosuch is not valid/);
});

/** A GET on the node's kubelet endpoint itself, with an optional client certificate. */
function kubeletGet(path: string, cert?: { cert: Buffer; key: Buffer }): Promise<{ status: number; body: string }> {
  const pki = pkiFiles(join(cp.dir, 'pki'));
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: kubelet.kubeletPort(node), path, ca: readFileSync(pki.ca), ...cert }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the kubelet endpoint serves only callers with a client certificate of the cluster CA that RBAC allows nodes/proxy', async () => {
  const pki = pkiFiles(join(cp.dir, 'pki'));
  const path = `/containerLogs/${ns}/talker/talk?tailLines=1`;
  assert.equal((await kubeletGet(path)).status, 401);
  const apiserver = await kubeletGet(path, { cert: readFileSync(pki.kubeletClientCert), key: readFileSync(pki.kubeletClientKey) });
  assert.equal(apiserver.status, 200);
  assert.match(apiserver.body, /^start 2 /);

  // A user of the same CA with no role: authenticated, not authorized.
  const dir = mkdtempSync(join(tmpdir(), 'pgop-kubelet-user-'));
  try {
    const f = (x: string) => join(dir, x);
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('u.key'), '-out', f('u.csr'), '-subj', '/CN=nobody-special'], { stdio: 'ignore' });
    writeFileSync(f('u.ext'), 'extendedKeyUsage=clientAuth\n');
    execFileSync('openssl', ['x509', '-req', '-in', f('u.csr'), '-CA', pki.ca, '-CAkey', pki.caKey, '-CAcreateserial', '-out', f('u.crt'), '-days', '1', '-extfile', f('u.ext')], { stdio: 'ignore' });
    const denied = await kubeletGet(path, { cert: readFileSync(f('u.crt')), key: readFileSync(f('u.key')) });
    assert.equal(denied.status, 403);
    assert.match(denied.body, /user=nobody-special/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
