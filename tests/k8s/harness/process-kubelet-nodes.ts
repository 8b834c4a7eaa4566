// The nodes of the process kubelet and the part of kube-controller-manager that watches them. Each node renews its
// heartbeat Lease in kube-node-lease, as a kubelet does; a stand-in for the node lifecycle controller marks a node
// whose heartbeat stopped Ready=Unknown once the grace period (kcm's --node-monitor-grace-period) has passed, and
// the kubelet posts Ready=True again when it comes back. A frozen node (a stalled VM) sends no heartbeat.
import type { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { ensureNode, ignore, mergePatch, message, statusCode } from './process-kubelet-pod.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** kcm's default (--node-monitor-grace-period): a node is unreachable after 40 s without a heartbeat. */
export const DEFAULT_NODE_GRACE_MS = 40_000;

export interface Nodes {
  readonly names: string[];
  isFrozen(node: string): boolean;
  /** What the scheduler would place a pod on: not frozen and not marked unreachable. */
  schedulable(node: string): boolean;
  freeze(node: string): void;
  /** Heartbeat and Ready=True at once, as a kubelet coming back posts its status. */
  thaw(node: string): Promise<void>;
  stop(): void;
}

/** A MicroTime as the apiserver parses it: RFC 3339 with exactly six fractional digits. */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export async function startNodes(
  core: CoreV1Api, coord: CoordinationV1Api, names: string[], graceMs: number, log: (line: string) => void, kubeletPort: (node: string) => number = () => 0,
): Promise<Nodes> {
  const frozen = new Set<string>();
  /** Nodes this controller marked Ready=Unknown, until their kubelet posts Ready again. */
  const unknown = new Set<string>();
  // As in a real cluster, the heartbeat comes well within the grace period (10 s against 40 s by default).
  const beatMs = Math.min(10_000, Math.max(200, Math.floor(graceMs / 4)));
  let stopped = false;

  await core.createNamespace({ body: { metadata: { name: NODE_LEASE_NAMESPACE } } }).catch(ignore(409));
  for (const n of names) await ensureNode(core, n, kubeletPort(n));

  const renew = async (node: string) => {
    try {
      await coord.patchNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name: node, body: { spec: { renewTime: microTime() } } }, mergePatch);
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
      await coord.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: {
        metadata: { name: node }, spec: { holderIdentity: node, leaseDurationSeconds: Math.ceil(graceMs / 1000), renewTime: microTime() as unknown as Date },
      } }).catch(ignore(409));
    }
  };
  // One request at a time per node (and for the monitor): a slow apiserver must not pile heartbeats up.
  const busy = new Set<string>();
  const once = async (key: string, fn: () => Promise<void>) => {
    if (busy.has(key)) return;
    busy.add(key);
    try { await fn(); } finally { busy.delete(key); }
  };
  const beat = (node: string) => once(node, async () => {
    if (frozen.has(node) || stopped) return;
    await renew(node);
    if (unknown.has(node)) { await ensureNode(core, node, kubeletPort(node)); unknown.delete(node); log(`node ${node}: Ready again`); }
  });

  /** The node lifecycle controller: a heartbeat older than the grace period makes the node's Ready Unknown. */
  const monitor = async () => {
    const leases = await coord.listNamespacedLease({ namespace: NODE_LEASE_NAMESPACE });
    for (const node of names) {
      const renewed = leases.items.find((l) => l.metadata?.name === node)?.spec?.renewTime;
      if (!renewed || unknown.has(node) || Date.now() - new Date(renewed).getTime() <= graceMs) continue;
      const t = new Date().toISOString();
      await core.patchNodeStatus({ name: node, body: { status: { conditions: [{
        type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: renewed, lastTransitionTime: t,
      }] } } }, mergePatch);
      unknown.add(node);
      log(`node ${node}: no heartbeat for ${graceMs} ms, Ready=Unknown`);
    }
  };

  for (const n of names) await renew(n);
  const timers = [
    setInterval(() => { for (const n of names) void beat(n).catch((e: unknown) => log(`node ${n}: heartbeat: ${message(e)}`)); }, beatMs),
    setInterval(() => { void once('\0monitor', monitor).catch((e: unknown) => log(`node monitor: ${message(e)}`)); }, Math.min(1000, beatMs)),
  ];

  return {
    names,
    isFrozen: (node) => frozen.has(node),
    schedulable: (node) => !frozen.has(node) && !unknown.has(node),
    freeze: (node) => { frozen.add(node); log(`node ${node}: frozen`); },
    thaw(node) {
      frozen.delete(node);
      log(`node ${node}: thawed`);
      // Past a beat still in flight: the thawed kubelet posts its status now.
      return (async () => {
        while (busy.has(node)) await new Promise((r) => setTimeout(r, 20));
        await beat(node);
      })();
    },
    stop() { stopped = true; for (const t of timers) clearInterval(t); },
  };
}
