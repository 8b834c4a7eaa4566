// Generated credentials for a cluster, as files (the local stand-in for Kubernetes Secrets). Created once and
// never regenerated, so a restart or re-apply keeps every password.
import { mkdirSync, existsSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StateDir } from './state-dir.js';

export type SecretName = 'superuser' | 'replication' | 'app';
const NAMES: SecretName[] = ['superuser', 'replication', 'app'];

export class LocalSecrets {
  constructor(private readonly state: StateDir) {}

  path(namespace: string, cluster: string, name: SecretName): string {
    return join(this.state.secretsDir(namespace, cluster), `${name}.password`);
  }

  ensure(namespace: string, cluster: string): Record<SecretName, string> {
    const dir = this.state.secretsDir(namespace, cluster);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const out = {} as Record<SecretName, string>;
    for (const n of NAMES) {
      const p = this.path(namespace, cluster, n);
      // URL-safe so the password can sit in a libpq URI unescaped.
      if (!existsSync(p)) writeFileSync(p, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
      out[n] = p;
    }
    return out;
  }

  read(namespace: string, cluster: string, name: SecretName): string {
    const p = this.path(namespace, cluster, name);
    if (!existsSync(p)) throw new Error(`no credentials for cluster ${namespace}/${cluster} yet (it has not been provisioned)`);
    return readFileSync(p, 'utf8').trim();
  }

  remove(namespace: string, cluster: string): void {
    rmSync(dirname(this.state.secretsDir(namespace, cluster)), { recursive: true, force: true });
  }
}
