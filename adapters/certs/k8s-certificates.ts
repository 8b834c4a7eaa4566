// The cluster CA and server certificate on Kubernetes, kept in Secrets: `<cluster>-ca-key` (created once, read
// by the operator only), `<cluster>-ca` (ca.crt for clients) and `<cluster>-server` (renewed before expiry; the
// agents re-read it every few seconds and reload postgres). A cluster with spec.certificates uses the user's
// Secrets instead and nothing is issued.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { K8sObjects } from '../k8s/objects.js';
import type { Owner } from '../k8s/specs/labels.js';
import { caKeySecretName, serverSecretName, tlsSources } from '../k8s/specs/names.js';
import { caKeySecret, caSecret, serverSecret } from '../k8s/specs/tls-secrets.js';
import { httpStatus } from '../k8s/client.js';

import { renewalDecision, serverNames, type TlsPolicy } from './tls-policy.js';
import { x509Builders, type EnsureResult } from './local-certificates.js';

const decode = (data: Record<string, string> | undefined, key: string) => (data?.[key] ? Buffer.from(data[key], 'base64').toString('utf8') : null);

export class K8sCertificates {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig, private readonly objects: K8sObjects, private readonly policy: TlsPolicy) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  private async secret(namespace: string, name: string): Promise<Record<string, string> | null> {
    try { return (await this.core.readNamespacedSecret({ namespace, name })).data ?? {}; } catch (e) {
      if (httpStatus(e) === 404) return null;
      throw e;
    }
  }

  /** The PEM that verifies the cluster's servers: the operator's CA, or the user's. */
  async caPem(namespace: string, cluster: string, spec: PostgresClusterSpec): Promise<string> {
    const src = tlsSources(cluster, spec.certificates);
    const pem = decode(await this.secret(namespace, src.ca) ?? undefined, src.caKey);
    if (!pem) throw new Error(`Secret ${namespace}/${src.ca} has no ${src.caKey} yet${spec.certificates ? ' (spec.certificates names it: create it, e.g. with cert-manager)' : ''}`);
    return pem;
  }

  /** CA once, then a server certificate that covers the instances (names and pod IPs) and is not due for renewal. */
  async ensure(namespace: string, cluster: string, owner: Owner, spec: PostgresClusterSpec, at: { instances: string[]; ips: string[] }, now = new Date()): Promise<EnsureResult | null> {
    if (spec.certificates?.serverTLSSecret) return null;
    const { createCa, inspectCert, issueServerCert } = await x509Builders();
    let caData = await this.secret(namespace, caKeySecretName(cluster));
    if (!caData) {
      const ca = await createCa(`pgop ${namespace}/${cluster} CA`, now, this.policy.caValidityMs);
      // Another operator replica may have won the race: whichever CA got stored is the CA.
      await this.objects.createIfMissing(caKeySecret(cluster, namespace, owner, ca.cert, ca.key));
      caData = await this.secret(namespace, caKeySecretName(cluster));
    }
    const ca = { cert: decode(caData ?? undefined, 'tls.crt'), key: decode(caData ?? undefined, 'tls.key') };
    if (!ca.cert || !ca.key) throw new Error(`Secret ${namespace}/${caKeySecretName(cluster)} lacks tls.crt or tls.key; delete it to have a new CA issued`);
    await this.objects.apply(caSecret(cluster, namespace, owner, ca.cert));
    const current = await this.secret(namespace, serverSecretName(cluster));
    const crt = decode(current ?? undefined, 'tls.crt');
    const facts = crt ? await inspectCert(crt, ca.cert) : null;
    const wanted = serverNames({ cluster, namespace, instances: at.instances, ips: at.ips });
    const decision = renewalDecision(facts, wanted, now, this.policy);
    if (!decision.renew && facts) return { issued: false, serial: facts.serial, notAfter: facts.notAfter };
    const issued = await issueServerCert({ cert: ca.cert, key: ca.key }, `${cluster}.${namespace}`, wanted, now, this.policy.validityMs);
    await this.objects.apply(serverSecret(cluster, namespace, owner, issued.cert, issued.key, ca.cert));
    const after = await inspectCert(issued.cert, ca.cert);
    return { issued: true, reason: decision.renew ? decision.reason : 'unreadable certificate', serial: after.serial, notAfter: after.notAfter };
  }
}
