// A stand-in for kube-controller-manager's Deployment controller in tests against a bare kube-apiserver (none runs
// here): every second it makes each Deployment's pods match `replicas` of its template (owned by the Deployment
// directly, no ReplicaSet), replaces pods of an older template once the new ones are ready (maxUnavailable 0),
// removes pods whose Deployment is gone, and writes the Deployment's status (replicas, readyReplicas...). The
// process kubelet then runs the pods.
import { createHash } from 'node:crypto';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { ignore, mergePatch, message } from './process-kubelet-pod.js';

export interface ProcessDeployments { stop(): Promise<void> }

const HASH = 'pod-template-hash';
const isReady = (p: V1Pod) => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const templateHash = (d: V1Deployment) => createHash('sha256').update(JSON.stringify(d.spec?.template ?? {})).digest('hex').slice(0, 10);

export async function startProcessDeployments(kubeconfig: string, log: (line: string) => void = () => undefined): Promise<ProcessDeployments> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let busy = false;

  const del = (p: V1Pod) => core.deleteNamespacedPod({ namespace: p.metadata?.namespace ?? '', name: p.metadata?.name ?? '' }).then(() => undefined, ignore(404));

  async function pass(): Promise<void> {
    const deployments = (await apps.listDeploymentForAllNamespaces()).items;
    const pods = (await core.listPodForAllNamespaces()).items.filter((p) => p.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment'));
    const live = new Set(deployments.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata?.uid));
    for (const p of pods) if (!p.metadata?.deletionTimestamp && !p.metadata?.ownerReferences?.some((o) => live.has(o.uid))) await del(p);
    for (const d of deployments) {
      if (d.metadata?.deletionTimestamp) continue;
      const { name = '', namespace = '', uid = '' } = d.metadata ?? {};
      const hash = templateHash(d);
      const want = d.spec?.replicas ?? 1;
      const mine = pods.filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === uid) && !p.metadata?.deletionTimestamp);
      const current = mine.filter((p) => p.metadata?.labels?.[HASH] === hash);
      const old = mine.filter((p) => p.metadata?.labels?.[HASH] !== hash);
      for (let i = current.length; i < want; i++) {
        const t = d.spec?.template;
        await core.createNamespacedPod({ namespace, body: {
          metadata: {
            generateName: `${name}-${hash}-`, namespace, labels: { ...(t?.metadata?.labels ?? {}), [HASH]: hash }, annotations: t?.metadata?.annotations ?? {},
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, controller: true, blockOwnerDeletion: true }],
          },
          spec: t!.spec!,
        } });
      }
      for (const p of current.slice(want)) await del(p);
      const ready = current.filter(isReady).length;
      if (ready >= want) for (const p of old) await del(p);
      await apps.patchNamespacedDeploymentStatus({ namespace, name, body: { status: {
        observedGeneration: d.metadata?.generation ?? 1, replicas: mine.length, updatedReplicas: current.length,
        readyReplicas: mine.filter(isReady).length, availableReplicas: mine.filter(isReady).length,
      } } }, mergePatch).catch(ignore(404, 409));
    }
  }

  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    running = pass().catch((e: unknown) => log(`deployments: ${message(e)}`)).finally(() => { busy = false; });
  }, 1000);
  return {
    async stop() { stopped = true; clearInterval(timer); await running; },
  };
}
