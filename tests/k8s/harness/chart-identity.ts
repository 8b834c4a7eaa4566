// Running as the chart's ServiceAccounts: the RBAC objects of a render applied to the apiserver, and a kubeconfig
// holding a bound token of a ServiceAccount, as a Pod running under it would have.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubectlBin } from './control-plane.js';
import type { Rendered } from './helm.js';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** Applies the ServiceAccount and RBAC objects of a render (the rest needs images and a real kubelet). */
export async function applyChartRbac(kubeconfig: string, objects: Rendered[], dir: string): Promise<void> {
  const file = join(dir, `rbac-${Date.now()}-${Math.random().toString(16).slice(2)}.yaml`);
  writeFileSync(file, objects.filter((o) => RBAC_KINDS.has(o.kind)).map((o) => `---\n${JSON.stringify(o)}\n`).join(''));
  // Async: a process kubelet may live in the calling process and must keep running meanwhile.
  await new Promise<void>((resolve, reject) => {
    execFile(kubectlBin, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', file], { encoding: 'utf8', timeout: 120_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`applying the chart's RBAC failed: ${stderr}`)); else resolve();
    });
  });
}

/** A kubeconfig holding a bound token (TokenRequest API) of `namespace/account`, on the admin's cluster. */
export async function serviceAccountKubeConfig(admin: KubeConfig, namespace: string, account: string): Promise<KubeConfig> {
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: account, namespace, body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } } });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !token.status?.token) throw new Error(`no token issued for ${namespace}/${account}`);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, caFile: cluster.caFile, skipTLSVerify: cluster.skipTLSVerify }],
    users: [{ name: account, token: token.status.token }],
    contexts: [{ name: 'test', cluster: 'test', user: account, namespace }], currentContext: 'test',
  });
  return kc;
}

/** The same, written to a file (mode 600) for a child process's `--kubeconfig`. */
export async function serviceAccountKubeconfigFile(admin: KubeConfig, namespace: string, account: string, file: string): Promise<string> {
  writeFileSync(file, (await serviceAccountKubeConfig(admin, namespace, account)).exportConfig(), { mode: 0o600 });
  return file;
}
