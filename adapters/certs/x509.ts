// Certificate building on @peculiar/x509 over Node's WebCrypto (ECDSA P-256, SHA-256): the cluster CA, server
// certificates signed by it, and reading back what an existing certificate says. No files here.
// tsyringe, used inside @peculiar/x509, needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { normalizeIp, isIpLiteral, validityWindow, type IssuedCertificate, type ServerNames } from './tls-policy.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const subtle = webcrypto.subtle;

/** PEM texts: what Secrets and files hold. */
export interface KeyPairPem { cert: string; key: string }

/** A positive 128-bit serial (RFC 5280: at most 20 octets, non-negative). */
const serial = () => { const b = randomBytes(16); b[0] = (b[0] ?? 0) & 0x7f | 0x01; return b.toString('hex'); };

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(pem)[0];
  if (!der) throw new Error('the CA key is not a PEM private key');
  return subtle.importKey('pkcs8', der, ALG, false, ['sign']) as Promise<CryptoKey>;
}

export async function createCa(commonName: string, now: Date, validityMs: number): Promise<KeyPairPem> {
  const keys = await subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(), name: `CN=${escapeDn(commonName)}`, ...validityWindow(now, validityMs), keys, signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

export async function issueServerCert(ca: KeyPairPem, commonName: string, names: ServerNames, now: Date, validityMs: number): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(), subject: `CN=${escapeDn(commonName)}`, issuer: caCert.subject, ...validityWindow(now, validityMs),
    publicKey: keys.publicKey, signingKey: await importKey(ca.key), signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      // clientAuth too: an instance presents this certificate to a peer's pgBackRest TLS server (ADR 0035).
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

export interface CertificateFacts extends IssuedCertificate { serial: string; notBefore: string; subject: string; isCa: boolean }

/** What a PEM certificate says, and whether `caPem` signed it (and it is within its dates, if `now` is given). */
export async function inspectCert(pem: string, caPem: string | null): Promise<CertificateFacts> {
  const cert = new x509.X509Certificate(firstPem(pem));
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.items ?? [];
  const signedByCa = caPem ? await verifies(cert, new x509.X509Certificate(firstPem(caPem))) : false;
  return {
    serial: cert.serialNumber.toLowerCase(), subject: cert.subject,
    notBefore: cert.notBefore.toISOString(), notAfter: cert.notAfter.toISOString(),
    dns: items.filter((i) => i.type === 'dns').map((i) => i.value),
    ips: items.filter((i) => i.type === 'ip').map((i) => normalizeIp(i.value)),
    signedByCa,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
  };
}

async function verifies(cert: x509.X509Certificate, ca: x509.X509Certificate): Promise<boolean> {
  if (cert.issuer !== ca.subject) return false;
  try { return await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }); } catch { return false; }
}

/** A tls.crt may hold a chain; the leaf comes first. */
const firstPem = (pem: string) => {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('not a PEM certificate');
  return m[0];
};

/** Names come from resource names (DNS-1123), but a DN must not be injectable all the same. */
const escapeDn = (s: string) => s.replace(/[,+"\\<>;=#]/g, (c) => `\\${c}`);

export { isIpLiteral };
