// One way to reach the apiserver: the kubeconfig at a path (or $KUBECONFIG / ~/.kube/config), or the in-cluster
// service account when running in a pod.
import { KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  const file = path ?? process.env.KUBECONFIG;
  if (file) kc.loadFromFile(file);
  else if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** client-node rejects with ApiException carrying the HTTP status in `code`. */
export const httpStatus = (e: unknown): number | undefined => (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : undefined);

/** One key of a Secret, decoded; a missing key is an error naming the Secret and the key. */
export async function readSecretKey(core: CoreV1Api, namespace: string, name: string, key: string): Promise<string> {
  const s = await core.readNamespacedSecret({ namespace, name });
  const v = s.data?.[key];
  if (!v) throw new Error(`Secret ${name} has no ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}
