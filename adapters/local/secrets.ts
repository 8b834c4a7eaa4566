// Generated credentials for a cluster, as files (the local stand-in for Kubernetes Secrets): the passwords and the
// agent API token. Created once (atomically, so two processes racing agree on one value) and never regenerated,
// so a restart or re-apply keeps every password.
import { mkdirSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { StateDir } from './state-dir.js';
import { createFileAtomic } from '../os/atomic-file.js';

export type SecretName = 'superuser' | 'replication' | 'app';
const NAMES: SecretName[] = ['superuser', 'replication', 'app'];

export class LocalSecrets {
  constructor(private readonly state: StateDir) {}

  path(namespace: string, cluster: string, name: SecretName): string {
    return join(this.state.secretsDir(namespace, cluster), `${name}.password`);
  }

  /** The bearer token the cluster's agents require on their API (0600, beside the passwords). */
  agentTokenPath(namespace: string, cluster: string): string {
    return join(this.state.secretsDir(namespace, cluster), 'agent.token');
  }

  ensure(namespace: string, cluster: string): Record<SecretName | 'agentToken', string> {
    const dir = this.state.secretsDir(namespace, cluster);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const out = {} as Record<SecretName | 'agentToken', string>;
    for (const n of NAMES) {
      const p = this.path(namespace, cluster, n);
      // URL-safe so the password can sit in a libpq URI unescaped.
      if (!existsSync(p)) createFileAtomic(p, `${randomBytes(18).toString('base64url')}\n`);
      out[n] = p;
    }
    out.agentToken = this.agentTokenPath(namespace, cluster);
    if (!existsSync(out.agentToken)) createFileAtomic(out.agentToken, `${randomBytes(32).toString('base64url')}\n`);
    return out;
  }

  read(namespace: string, cluster: string, name: SecretName): string {
    return this.readFile(namespace, cluster, this.path(namespace, cluster, name));
  }

  agentToken(namespace: string, cluster: string): string {
    return this.readFile(namespace, cluster, this.agentTokenPath(namespace, cluster));
  }

  remove(namespace: string, cluster: string): void {
    rmSync(dirname(this.state.secretsDir(namespace, cluster)), { recursive: true, force: true });
  }

  private readFile(namespace: string, cluster: string, p: string): string {
    if (!existsSync(p)) throw new Error(`no credentials for cluster ${namespace}/${cluster} yet (it has not been provisioned)`);
    return readFileSync(p, 'utf8').trim();
  }
}
