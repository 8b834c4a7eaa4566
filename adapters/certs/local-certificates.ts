// The cluster CA and server certificate on the local platform, as files under the state directory (the local
// stand-in for the `<cluster>-ca`, `<cluster>-ca-key` and `<cluster>-server` Secrets). The CA key sits with the
// passwords (0600, never handed to clients or agents); ca.crt is world-readable so `pgop local connect` URIs work.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../os/atomic-file.js';
import { join } from 'node:path';
import type { StateDir } from '../local/state-dir.js';
import type { CertificateFacts } from './x509.js';
import { renewalDecision, serverNames, tlsPolicyFrom, type TlsPolicy } from './tls-policy.js';

export interface ClusterTlsFiles { caFile: string; certFile: string; keyFile: string; caKeyFile: string }

export interface EnsureResult { issued: boolean; reason?: string; serial: string; notAfter: string }

/**
 * The X.509 library takes a second to load on a busy machine; every `pgop` command would pay it. Only the
 * operator, when it issues or inspects a certificate, loads it.
 */
export const x509Builders = () => import('./x509.js');

/** Where a local cluster's CA and server certificate live (pure path arithmetic). */
export function localTlsFiles(state: StateDir, namespace: string, cluster: string): ClusterTlsFiles {
  const tls = join(state.root, 'clusters', namespace, cluster, 'tls');
  return {
    caFile: join(tls, 'ca.crt'), certFile: join(tls, 'server.crt'), keyFile: join(tls, 'server.key'),
    caKeyFile: join(state.secretsDir(namespace, cluster), 'ca.key'),
  };
}

export const localCertificatesFromEnv = (state: StateDir, env: Record<string, string | undefined> = process.env) =>
  new LocalCertificates(state, tlsPolicyFrom(env));

export class LocalCertificates {
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly state: StateDir, private readonly policy: TlsPolicy) {}

  files(namespace: string, cluster: string): ClusterTlsFiles { return localTlsFiles(this.state, namespace, cluster); }

  /** The CA (created once) and a server certificate that is current: issued, or renewed when the policy says so. */
  ensure(namespace: string, cluster: string, now = new Date()): Promise<EnsureResult> {
    const key = `${namespace}/${cluster}`;
    // One at a time per cluster: provisioning and the rotation loop must not both create a CA.
    const next = (this.chains.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => this.ensureNow(namespace, cluster, now));
    this.chains.set(key, next);
    return next;
  }

  async current(namespace: string, cluster: string): Promise<CertificateFacts | null> {
    const { inspectCert } = await x509Builders();
    const f = this.files(namespace, cluster);
    if (!existsSync(f.certFile) || !existsSync(f.caFile)) return null;
    return inspectCert(readFileSync(f.certFile, 'utf8'), readFileSync(f.caFile, 'utf8'));
  }

  private async ensureNow(namespace: string, cluster: string, now: Date): Promise<EnsureResult> {
    const { createCa, inspectCert, issueServerCert } = await x509Builders();
    const f = this.files(namespace, cluster);
    mkdirSync(join(f.caFile, '..'), { recursive: true, mode: 0o755 });
    mkdirSync(join(f.caKeyFile, '..'), { recursive: true, mode: 0o700 });
    if (!existsSync(f.caFile) || !existsSync(f.caKeyFile)) {
      const ca = await createCa(`pgop ${namespace}/${cluster} CA`, now, this.policy.caValidityMs);
      writeFileAtomic(f.caKeyFile, ca.key, { mode: 0o600 });
      writeFileAtomic(f.caFile, ca.cert, { mode: 0o644 });
    }
    const facts = await this.current(namespace, cluster);
    const decision = renewalDecision(facts, this.wanted(namespace, cluster), now, this.policy);
    if (!decision.renew && facts) return { issued: false, serial: facts.serial, notAfter: facts.notAfter };
    const ca = { cert: readFileSync(f.caFile, 'utf8'), key: readFileSync(f.caKeyFile, 'utf8') };
    const issued = await issueServerCert(ca, `${cluster}.${namespace}`, this.wanted(namespace, cluster), now, this.policy.validityMs);
    writeFileAtomic(f.keyFile, issued.key, { mode: 0o600 });
    writeFileAtomic(f.certFile, issued.cert, { mode: 0o644 });
    const after = await inspectCert(issued.cert, ca.cert);
    return { issued: true, reason: decision.renew ? decision.reason : 'unreadable certificate', serial: after.serial, notAfter: after.notAfter };
  }

  /** Every local instance listens on 127.0.0.1; clients reach the endpoints as 127.0.0.1 or localhost. */
  private wanted(namespace: string, cluster: string) {
    return serverNames({ cluster, namespace, hosts: ['127.0.0.1'] });
  }
}
