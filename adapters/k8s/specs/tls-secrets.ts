// The TLS Secrets of a cluster: the CA's public part (the only thing clients need), the CA key (the operator's
// alone), and the server certificate in the kubernetes.io/tls shape cert-manager also uses.
import { clusterLabels, ownedBy, type Owner } from './labels.js';
import { caKeySecretName, caSecretName, serverSecretName } from './names.js';

/** `data`, not `stringData`: server-side apply tracks `data` fields, and stringData is write-only. */
const b64 = (fields: Record<string, string>) => Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));

const meta = (name: string, namespace: string, cluster: string, owner: Owner) => ({ name, namespace, labels: clusterLabels(cluster), ownerReferences: ownedBy(owner) });

export const caSecret = (cluster: string, namespace: string, owner: Owner, caCrt: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: meta(caSecretName(cluster), namespace, cluster, owner), data: b64({ 'ca.crt': caCrt }),
});

export const caKeySecret = (cluster: string, namespace: string, owner: Owner, caCrt: string, caKey: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: meta(caKeySecretName(cluster), namespace, cluster, owner),
  data: b64({ 'tls.crt': caCrt, 'tls.key': caKey }),
});

export const serverSecret = (cluster: string, namespace: string, owner: Owner, crt: string, key: string, caCrt: string) => ({
  apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: meta(serverSecretName(cluster), namespace, cluster, owner),
  data: b64({ 'tls.crt': crt, 'tls.key': key, 'ca.crt': caCrt }),
});
