import type { Resource } from '../../crds/definition.js';
import type { PostgresCluster } from '../../crds/postgrescluster.js';
import type { RedisResourceStore } from '../../adapters/local/redis-store.js';
import { clusterProgressLine } from './local-view.js';

/** Polls until every cluster is Ready, printing a line whenever one's progress changes. */
export async function waitForClusters(store: RedisResourceStore, clusters: Resource[], timeoutMs: number, out: (s: string) => void): Promise<Resource[]> {
  const started = Date.now();
  const lastLine = new Map<string, string>();
  for (;;) {
    const current: PostgresCluster[] = [];
    for (const c of clusters) {
      const r = await store.get({ kind: c.kind, namespace: c.metadata.namespace ?? 'default', name: c.metadata.name });
      if (!r) throw new Error(`postgrescluster/${c.metadata.name} disappeared while waiting`);
      current.push(r as PostgresCluster);
    }
    for (const c of current) {
      const line = clusterProgressLine(c, Date.now() - started);
      const id = c.metadata.name;
      if (line.replace(/^\[\s*\d+s\] /, '') !== lastLine.get(id)) { out(line); lastLine.set(id, line.replace(/^\[\s*\d+s\] /, '')); }
    }
    const failed = current.find((c) => c.status?.phase === 'Failed');
    if (failed) throw new Error(`postgrescluster/${failed.metadata.name} failed: ${failed.status?.phaseReason ?? 'see pgop local get -o yaml'}`);
    const generationsSeen = current.every((c) => (c.status?.observedGeneration ?? 0) >= (c.metadata.generation ?? 1));
    if (generationsSeen && current.every((c) => c.status?.phase === 'Ready')) return current;
    if (Date.now() - started > timeoutMs) {
      const waiting = current.filter((c) => c.status?.phase !== 'Ready').map((c) => `${c.metadata.name} (${c.status?.phase ?? 'Pending'}: ${c.status?.phaseReason ?? 'no status yet'})`);
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${waiting.join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
