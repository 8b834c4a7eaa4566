// TLS-only scratch PostgreSQL servers for router tests, as pgop clusters run them: a CA made with the project's own
// certificate code, a server certificate naming 127.0.0.1 and a DNS name, ssl = on and hostssl-only pg_hba.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueServerCert, type KeyPairPem } from '../../adapters/certs/x509.js';
import { startScratchPostgres, type ScratchPostgres } from './router-pg-harness.js';

const DAY = 86_400_000;

export async function testCa(name = 'pgop router test CA'): Promise<KeyPairPem> {
  return createCa(name, new Date(), DAY);
}

export function writeCa(dir: string, ca: KeyPairPem, file = 'ca.crt'): string {
  const path = join(dir, file);
  writeFileSync(path, ca.cert);
  return path;
}

export const HOSTSSL_ONLY = 'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n';

/** A server accepting only TLS, its certificate naming `dnsName` and 127.0.0.1, signed by `ca`. */
export async function startTlsPostgres(ca: KeyPairPem, dnsName: string, settings: Record<string, string> = {}): Promise<ScratchPostgres> {
  const cert = await issueServerCert(ca, dnsName, { dns: [dnsName], ips: ['127.0.0.1'] }, new Date(), DAY);
  return startScratchPostgres({ ssl: 'on', ssl_cert_file: "'server.crt'", ssl_key_file: "'server.key'", ...settings },
    { hba: HOSTSSL_ONLY, files: { 'server.crt': cert.cert, 'server.key': cert.key } });
}
