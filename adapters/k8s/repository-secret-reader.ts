// Reads an S3 repository's Secrets (specs/repository-secrets.ts names them) for the operator's check before a Pod
// is created and for the agent's copy in its run directory. Every failure names the Secret, the manifest field and
// the key, so the cluster's status says what to fix instead of an agent waiting without end.
import type { CoreV1Api } from '@kubernetes/client-node';
import { httpStatus } from './client.js';
import { RepositorySecretError, type RepositorySecretRef } from './specs/repository-secrets.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The keys of one Secret, decoded; a missing Secret, a missing or empty key is a RepositorySecretError. */
export async function readRepositorySecret(core: CoreV1Api, namespace: string, ref: RepositorySecretRef): Promise<Record<string, string>> {
  const s = await core.readNamespacedSecret({ namespace, name: ref.secret }).catch((e: unknown) => {
    const code = httpStatus(e);
    if (code === 404) throw new RepositorySecretError(`Secret ${ref.secret} (${ref.field}) not found in namespace ${namespace}: create it with the keys ${ref.keys.join(' and ')}`);
    if (code === 403) throw new RepositorySecretError(`Secret ${ref.secret} (${ref.field}) may not be read (HTTP 403): the instance Role grants get on it once the cluster is provisioned with this spec`);
    throw e;
  });
  const out: Record<string, string> = {};
  for (const key of ref.keys) {
    const b64 = s.data?.[key];
    const value = b64 ? Buffer.from(b64, 'base64').toString('utf8').trim() : '';
    if (!value) throw new RepositorySecretError(`Secret ${ref.secret} (${ref.field}) has no ${key} key${b64 ? ' (it is empty)' : ''}: it needs ${ref.keys.join(' and ')}`);
    out[key] = value;
  }
  return out;
}

/**
 * The operator's check before it creates a Pod that would need these Secrets. A Secret applied in the same
 * `kubectl apply` as the cluster may arrive a moment later, so a missing one is waited for briefly (bounded).
 */
export async function requireRepositorySecrets(core: CoreV1Api, namespace: string, refs: RepositorySecretRef[], waitMs = 20_000, signal?: AbortSignal): Promise<void> {
  for (const ref of refs) {
    for (const until = Date.now() + waitMs; ;) {
      try { await readRepositorySecret(core, namespace, ref); break; } catch (e) {
        if (!(e instanceof RepositorySecretError) || Date.now() >= until || signal?.aborted) throw e;
        await sleep(1000);
      }
    }
  }
}
