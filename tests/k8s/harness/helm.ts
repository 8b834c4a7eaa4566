// helm (built from the Go module proxy, cached) rendering the project's chart, and the rendered objects parsed.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../../helpers/cli.js';

export const chartDir = join(repoRoot, 'chart');

/** Builds helm on first use; returns its path. */
export function helmBin(): string {
  return execFileSync('bash', [join(repoRoot, 'tests', 'k8s', 'bins', 'build-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1) ?? '';
}

export interface Rendered { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown }

/** `helm template <release> chart/ --namespace <ns> ...args`; throws with helm's stderr on failure. */
export function renderChart(helm: string, release: string, namespace: string, args: string[] = []): { text: string; objects: Rendered[] } {
  const r = spawnSync(helm, ['template', release, chartDir, '--namespace', namespace, '--kube-version', '1.34.0', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as Rendered | null).filter((o): o is Rendered => !!o?.kind);
  return { text: r.stdout, objects };
}
