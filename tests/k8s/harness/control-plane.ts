// A real kube-apiserver with etcd for tests, started the way envtest does (loopback, client-certificate admin,
// RBAC on), from binaries built out of the Go module proxy by tests/k8s/bins/build.sh.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'node:https';
import { freePort } from '../../../adapters/local/ports.js';
import { makePki, kubeconfig } from './pki.js';

const buildScript = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'tests', 'k8s', 'bins', 'build.sh');

export interface ControlPlane { dir: string; server: string; kubeconfig: string; stop(): Promise<void>; logs(): string }

/** Builds (first time) or finds the binaries; returns their directory. */
export function k8sBinaries(): string {
  const out = execFileSync('bash', [buildScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 60 * 60_000 });
  return out.trim().split('\n').at(-1) ?? '';
}

function ready(url: string, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 2000 }, (res) => { res.resume(); resolve(res.statusCode === 200); });
    req.on('error', () => resolve(false));
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.end();
  });
}

export async function startControlPlane(): Promise<ControlPlane> {
  const bins = k8sBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'pgop-k8s-'));
  const pkiDir = join(dir, 'pki');
  mkdirSync(pkiDir);
  const pki = makePki(pkiDir);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const procs: ChildProcess[] = [];
  const logFile = join(dir, 'control-plane.log');
  const log = openSync(logFile, 'a');
  procs.push(spawn(join(bins, 'etcd'), [
    '--name=pgop', `--data-dir=${join(dir, 'etcd')}`, `--listen-client-urls=http://127.0.0.1:${etcdPort}`, `--advertise-client-urls=http://127.0.0.1:${etcdPort}`,
    `--listen-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`, `--initial-cluster=pgop=http://127.0.0.1:${peerPort}`,
    '--unsafe-no-fsync=true', '--log-level=warn',
  ], { stdio: ['ignore', log, log] }));
  for (let i = 0; i < 100; i++) { if (await fetch(`http://127.0.0.1:${etcdPort}/health`).then((r) => r.ok, () => false)) break; await new Promise((r) => setTimeout(r, 100)); }
  procs.push(spawn(join(bins, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${apiPort}`,
    `--cert-dir=${join(dir, 'certs')}`, `--tls-cert-file=${pki.serverCert}`, `--tls-private-key-file=${pki.serverKey}`, `--client-ca-file=${pki.ca}`,
    // No controller-manager runs here to lift the PVC protection finalizer; the kubelet stand-in keeps the data.
    '--authorization-mode=RBAC', '--disable-admission-plugins=ServiceAccount,StorageObjectInUseProtection', '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${pki.saPub}`, `--service-account-signing-key-file=${pki.saKey}`, '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true', '--endpoint-reconciler-type=none',
    // `kubectl logs` goes apiserver → kubelet /containerLogs: a client certificate for it, the CA its serving
    // certificate must chain to, and the node's InternalIP (its Hostname address is a name nothing resolves).
    `--kubelet-client-certificate=${pki.kubeletClientCert}`, `--kubelet-client-key=${pki.kubeletClientKey}`,
    `--kubelet-certificate-authority=${pki.ca}`, '--kubelet-preferred-address-types=InternalIP',
  ], { stdio: ['ignore', log, log] }));
  closeSync(log);
  const server = `https://127.0.0.1:${apiPort}`;
  const ca = readFileSync(pki.ca);
  let up = false;
  for (let i = 0; i < 240 && !up; i++) { up = await ready(`${server}/readyz`, ca); if (!up) await new Promise((r) => setTimeout(r, 500)); }
  const kc = join(dir, 'kubeconfig');
  writeFileSync(kc, kubeconfig(pki, server));
  const stop = async () => {
    for (const p of procs.reverse()) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  if (!up) { const text = readFileSync(logFile, 'utf8').slice(-3000); await stop(); throw new Error(`kube-apiserver did not become ready:\n${text}`); }
  return { dir, server, kubeconfig: kc, stop, logs: () => readFileSync(logFile, 'utf8') };
}

/** kubectl within ±1 minor of the test apiserver (google-cloud-cli ships several). */
export const kubectlBin = process.env.PGOP_KUBECTL ?? '/usr/lib/google-cloud-sdk/bin/kubectl.1.33';
