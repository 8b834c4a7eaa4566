// Pure decisions about a cluster's certificates: which names a server certificate must carry, how long it lives,
// and when it is renewed. No I/O, no clock: the caller passes `now`.

export interface ServerNames { dns: string[]; ips: string[] }

export interface ServerNameInput {
  cluster: string;
  namespace: string;
  /** Instance (pod) names: a replica may verify its primary by pod name. */
  instances?: string[];
  /** Addresses the instances listen on (127.0.0.1 locally, pod IPs in Kubernetes). */
  ips?: string[];
  /** Other host names the instances are reached by (the instance host when it is a name). */
  hosts?: string[];
}

/** The Services' names in every form a client may use, plus the local endpoints and the instances themselves. */
export function serverNames(input: ServerNameInput): ServerNames {
  const dns: string[] = [];
  for (const suffix of ['rw', 'ro', 'r']) {
    const svc = `${input.cluster}-${suffix}`;
    dns.push(svc, `${svc}.${input.namespace}`, `${svc}.${input.namespace}.svc`, `${svc}.${input.namespace}.svc.cluster.local`);
  }
  for (const name of input.instances ?? []) dns.push(name, `${name}.${input.namespace}`);
  dns.push('localhost', ...(input.hosts ?? []).filter((h) => !isIpLiteral(h)));
  // pgBackRest 2.45's TLS client checks the host it dials only against dNSName entries (never iPAddress), and a
  // standby backup dials the primary's pgBackRest server by pod IP (ADR 0035): the pod IPs appear as names too.
  dns.push(...(input.ips ?? []).filter((ip) => !ip.includes(':')));
  const ips = ['127.0.0.1', '::1', ...(input.ips ?? []), ...(input.hosts ?? []).filter(isIpLiteral)];
  return { dns: unique(dns), ips: unique(ips) };
}

/**
 * The name a client verifies an instance by when it dials an address that is not in the certificate (a pod IP
 * that changed since issue): every instance serves the cluster certificate, so the "any instance" Service fits.
 */
export const anyInstanceName = (cluster: string, namespace: string) => `${cluster}-r.${namespace}.svc`;

export interface TlsPolicy {
  /** Lifetime of an issued server certificate. */
  validityMs: number;
  /** Renew when less than this is left. */
  renewBeforeMs: number;
  /** Lifetime of the cluster CA (not rotated: see docs/adr/0012-tls-ca.md). */
  caValidityMs: number;
}

const DAY = 86_400_000;
export const DEFAULT_TLS_POLICY: TlsPolicy = { validityMs: 90 * DAY, renewBeforeMs: 30 * DAY, caValidityMs: 3650 * DAY };

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY };

/** "90d", "12h", "30m", "45s". */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m?.[1] || !m[2]) throw new Error(`${what} must be a whole number followed by s, m, h or d (e.g. 90d), got ${JSON.stringify(text)}`);
  return Number(m[1]) * (UNITS[m[2]] ?? 0);
}

/** The policy from PGOP_TLS_CERT_VALIDITY / PGOP_TLS_RENEW_BEFORE; the renewal window must be shorter than the life. */
export function tlsPolicyFrom(env: Record<string, string | undefined>): TlsPolicy {
  const validityMs = env.PGOP_TLS_CERT_VALIDITY ? parseDuration(env.PGOP_TLS_CERT_VALIDITY, 'PGOP_TLS_CERT_VALIDITY') : DEFAULT_TLS_POLICY.validityMs;
  const renewBeforeMs = env.PGOP_TLS_RENEW_BEFORE ? parseDuration(env.PGOP_TLS_RENEW_BEFORE, 'PGOP_TLS_RENEW_BEFORE') : DEFAULT_TLS_POLICY.renewBeforeMs;
  if (renewBeforeMs >= validityMs) throw new Error(`PGOP_TLS_RENEW_BEFORE (${renewBeforeMs} ms) must be shorter than PGOP_TLS_CERT_VALIDITY (${validityMs} ms)`);
  return { ...DEFAULT_TLS_POLICY, validityMs, renewBeforeMs };
}

/** notBefore a little in the past so a peer whose clock lags does not refuse a fresh certificate. */
export function validityWindow(now: Date, validityMs: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(now.getTime() - 5 * 60_000), notAfter: new Date(now.getTime() + validityMs) };
}

export interface IssuedCertificate {
  notAfter: string;
  dns: string[];
  ips: string[];
  /** The certificate verifies against the cluster's current CA. */
  signedByCa: boolean;
}

export type RenewalDecision = { renew: false } | { renew: true; reason: string };

/** Whether the operator must (re)issue the server certificate now. */
export function renewalDecision(current: IssuedCertificate | null, wanted: ServerNames, now: Date, policy: Pick<TlsPolicy, 'renewBeforeMs'>): RenewalDecision {
  if (!current) return { renew: true, reason: 'no server certificate yet' };
  if (!current.signedByCa) return { renew: true, reason: 'the certificate is not signed by the cluster CA' };
  const left = Date.parse(current.notAfter) - now.getTime();
  if (!(left > policy.renewBeforeMs)) return { renew: true, reason: `expires ${current.notAfter}, within the renewal window` };
  const missing = [...wanted.dns.filter((d) => !current.dns.includes(d)), ...wanted.ips.filter((i) => !current.ips.includes(normalizeIp(i)) && !current.ips.includes(i))];
  if (missing.length) return { renew: true, reason: `names missing from the certificate: ${missing.join(', ')}` };
  return { renew: false };
}

export const isIpLiteral = (h: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(':');

/** "::1" and "0:0:0:0:0:0:0:1" are the same address; certificates report the long form. */
export function normalizeIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const fill = ip.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16).toString(16)).join(':');
}

const unique = (xs: string[]) => [...new Set(xs)];
