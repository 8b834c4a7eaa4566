// A throwaway PKI for the test control plane, made with openssl (argument arrays, no shell): a CA, the apiserver's
// serving certificate, an admin client certificate in system:masters, the service-account key pair, and the pair a
// kubelet's HTTPS endpoint needs: its serving certificate (all process-kubelet nodes are 127.0.0.1) and the client
// certificate the apiserver presents to it (--kubelet-client-certificate), as kubeadm issues them.
import { execFileSync } from 'node:child_process';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string; ca: string; caKey: string; serverCert: string; serverKey: string; adminCert: string; adminKey: string; saKey: string; saPub: string;
  kubeletCert: string; kubeletKey: string; kubeletClientCert: string; kubeletClientKey: string;
}

/** The files makePki writes into `dir`. */
export function pkiFiles(dir: string): Pki {
  const p = (f: string) => join(dir, f);
  return {
    dir, ca: p('ca.crt'), caKey: p('ca.key'), serverCert: p('apiserver.crt'), serverKey: p('apiserver.key'), adminCert: p('admin.crt'), adminKey: p('admin.key'),
    saKey: p('sa.key'), saPub: p('sa.pub'), kubeletCert: p('kubelet.crt'), kubeletKey: p('kubelet.key'),
    kubeletClientCert: p('apiserver-kubelet-client.crt'), kubeletClientKey: p('apiserver-kubelet-client.key'),
  };
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });

export function makePki(dir: string): Pki {
  const p = (f: string) => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '3650', '-subj', '/CN=pgop-test-ca']);
  const sign = (name: string, subj: string, ext: string) => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj]);
    writeFileSync(p(`${name}.ext`), ext);
    openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '3650', '-extfile', p(`${name}.ext`)]);
  };
  sign('apiserver', '/CN=kube-apiserver', 'subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n');
  sign('admin', '/O=system:masters/CN=pgop-test-admin', 'extendedKeyUsage=clientAuth\n');
  sign('kubelet', '/CN=process-kubelet', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  // The kubelet authorizes this user with a SubjectAccessReview (nodes/proxy), which system:masters passes.
  sign('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', 'extendedKeyUsage=clientAuth\n');
  openssl(['genrsa', '-out', p('sa.key'), '2048']);
  openssl(['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);
  return pkiFiles(dir);
}

export function kubeconfig(pki: Pki, server: string): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'pgop-test',
    clusters: [{ name: 'pgop-test', cluster: { server, 'certificate-authority-data': b64(pki.ca) } }],
    users: [{ name: 'admin', user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) } }],
    contexts: [{ name: 'pgop-test', context: { cluster: 'pgop-test', user: 'admin', namespace: 'default' } }],
  }, null, 2);
}
