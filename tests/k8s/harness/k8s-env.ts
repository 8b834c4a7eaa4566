// One Kubernetes test environment: apiserver + etcd with the CRDs, a private Redis, the process kubelet, the
// Deployment stand-in and the operator (restarted if it exits, like its Deployment would), plus kubectl helpers.
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, chmodSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, kubectlBin, type ControlPlane } from './control-plane.js';
import { startProcessKubelet, type ProcessKubelet, type ProcessKubeletOptions } from './process-kubelet.js';
import { helmBin, renderChart } from './helm.js';
import { applyChartRbac, serviceAccountKubeconfigFile } from './chart-identity.js';
import { startProcessDeployments, type ProcessDeployments } from './process-deployments.js';
import { loadKubeConfig } from '../../../adapters/k8s/client.js';
import { pgopCommand } from '../../../adapters/local/self.js';
import { startRedis, stopRedis } from '../../../adapters/local/redis-server.js';
import { StateDir } from '../../../adapters/local/state-dir.js';
import { repoRoot, pgopBin } from '../../helpers/cli.js';

export interface KubectlResult { status: number; stdout: string; stderr: string }

export interface K8sEnv {
  cp: ControlPlane;
  kc: KubeConfig;
  kubelet: ProcessKubelet;
  work: string;
  kubectl(args: string[]): Promise<KubectlResult>;
  apply(...objects: object[]): Promise<void>;
  custom(plural: string, name: string, namespace?: string): Promise<CustomObject | undefined>;
  operatorLog(): string;
  stop(): Promise<void>;
}

export interface CustomObject { metadata: { generation?: number; annotations?: Record<string, string> }; spec?: Record<string, unknown>; status?: Record<string, unknown> & { phase?: string } }

export interface K8sEnvOptions {
  /** The process kubelet's nodes and how fast a silent one is marked unreachable. */
  kubelet?: Pick<ProcessKubeletOptions, 'nodes' | 'nodeGraceMs' | 'images'>;
  /** Run the operator under the chart's ServiceAccount and RBAC (watchNamespace=default), as in its Pod. */
  chartIdentity?: boolean;
}

export async function startK8sEnv(label: string, operatorEnv: Record<string, string> = {}, opts: K8sEnvOptions = {}): Promise<K8sEnv> {
  const work = mkdtempSync(join(tmpdir(), `pgop-k8s-${label}-`));
  chmodSync(work, 0o755);
  const cp = await startControlPlane();
  const kc = loadKubeConfig(cp.kubeconfig);
  const kubectl = (args: string[]) => new Promise<KubectlResult>((resolve) => {
    execFile(kubectlBin, ['--kubeconfig', cp.kubeconfig, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) => {
      resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
  assert.equal((await kubectl(['apply', '--server-side', '-f', join(repoRoot, 'chart', 'crds')])).status, 0);
  assert.equal((await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all'])).status, 0);
  const redis = await startRedis(new StateDir(join(work, 'redis-state')));
  let operatorKubeconfig = cp.kubeconfig;
  const scope: string[] = [];
  // Before the process kubelet starts: rendering runs helm synchronously, and a kubelet in this process would miss
  // its heartbeats meanwhile.
  if (opts.chartIdentity) {
    await applyChartRbac(cp.kubeconfig, renderChart(helmBin(), 'pgop', 'default', ['--set', 'watchNamespace=default']).objects, work);
    operatorKubeconfig = await serviceAccountKubeconfigFile(kc, 'default', 'pgop', join(work, 'operator.kubeconfig'));
    scope.push('--watch-namespace', 'default');
  }
  const line = (file: string) => (l: string) => appendFileSync(join(work, file), `${new Date().toISOString()} ${l}\n`);
  const kubelet = await startProcessKubelet({
    kubeconfig: cp.kubeconfig, root: join(work, 'kubelet'), pgopCommand: (args) => pgopCommand(args),
    firstAddress: 120 + (process.pid % 60), log: line('kubelet.log'), ...opts.kubelet,
  });

  const deployments: ProcessDeployments = await startProcessDeployments(cp.kubeconfig, line('deployments.log'));
  let operator: ChildProcess | undefined;
  let stopping = false;
  const startOperator = () => {
    const log = openSync(join(work, 'operator.log'), 'a');
    operator = spawn(process.execPath, [pgopBin, 'operator', '--platform', 'kubernetes', '--kubeconfig', operatorKubeconfig, '--namespace', 'default', ...scope, '--metrics-port', '0'], {
      env: { ...process.env, REDIS_URL: redis.url, POD_NAME: `operator-${label}`, PGOP_LEADER_LEASE_SECONDS: '15', ...operatorEnv }, stdio: ['ignore', log, log],
    });
    closeSync(log);
    operator.once('exit', () => { if (!stopping) setTimeout(startOperator, 1000); });
  };
  startOperator();
  let seq = 0;
  return {
    cp, kc, kubelet, work, kubectl,
    async apply(...objects: object[]) {
      const file = join(work, `m-${++seq}.yaml`);
      writeFileSync(file, objects.map((o) => stringify(o)).join('---\n'));
      const r = await kubectl(['apply', '-f', file]);
      assert.equal(r.status, 0, r.stderr);
    },
    custom(plural, name, namespace = 'default') {
      return kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: 'postgres.keiailab.io', version: 'v1alpha1', namespace, plural, name })
        .then((o) => o as CustomObject, () => undefined);
    },
    operatorLog: () => [
      (() => { try { return readFileSync(join(work, 'operator.log'), 'utf8').split('\n').slice(-40).join('\n'); } catch { return ''; } })(),
      podLogTails(join(work, 'kubelet', 'pods')),
    ].join('\n'),
    async stop() {
      stopping = true;
      if (operator?.exitCode === null) operator.kill('SIGKILL');
      await deployments.stop();
      await kubelet.stop();
      await stopRedis(redis.pid);
      await cp.stop();
      if (process.env.PGOP_TEST_KEEP_STATE !== '1') rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The last lines of every pod's container log (the agents: why a demotion or a start hung), for a failed wait's error. */
function podLogTails(root: string, lines = 12): string {
  const out: string[] = [];
  const list = (dir: string) => { try { return readdirSync(dir); } catch { return []; } };
  for (const namespace of list(root)) {
    for (const pod of list(join(root, namespace))) {
      try {
        const text = readFileSync(join(root, namespace, pod, 'container.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        out.push(`--- pod ${namespace}/${pod}\n${text}`);
      } catch { /* no log yet */ }
    }
  }
  return out.join('\n');
}
