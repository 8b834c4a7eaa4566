import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createCa, issueServerCert, inspectCert } from './x509.js';
import { serverNames, renewalDecision, tlsPolicyFrom, parseDuration, DEFAULT_TLS_POLICY, normalizeIp } from './tls-policy.js';

const now = new Date('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const names = serverNames({ cluster: 'demo', namespace: 'prod', instances: ['demo-1', 'demo-2'], ips: ['10.0.0.7'] });

test('server names cover every Service form, the instances and the local endpoints', () => {
  for (const svc of ['demo-rw', 'demo-ro', 'demo-r']) {
    for (const n of [svc, `${svc}.prod`, `${svc}.prod.svc`, `${svc}.prod.svc.cluster.local`]) assert.ok(names.dns.includes(n), n);
  }
  assert.ok(names.dns.includes('demo-1') && names.dns.includes('demo-2') && names.dns.includes('localhost'));
  assert.deepEqual(names.ips, ['127.0.0.1', '::1', '10.0.0.7']);
  // pgBackRest 2.45 matches only dNSName entries against the pod IP it dials (ADR 0035).
  assert.ok(names.dns.includes('10.0.0.7'));
  const byHost = serverNames({ cluster: 'c', namespace: 'n', hosts: ['db.example', '192.168.1.4'] });
  assert.ok(byHost.dns.includes('db.example') && byHost.ips.includes('192.168.1.4') && !byHost.dns.includes('192.168.1.4'));
});

test('the CA is a CA; the server certificate is signed by it, carries the names and the configured life', async () => {
  const ca = await createCa('pgop prod/demo CA', now, DEFAULT_TLS_POLICY.caValidityMs);
  const caFacts = await inspectCert(ca.cert, ca.cert);
  assert.equal(caFacts.isCa, true);
  const server = await issueServerCert(ca, 'demo', names, now, 90 * DAY);
  const facts = await inspectCert(server.cert, ca.cert);
  assert.equal(facts.isCa, false);
  assert.equal(facts.signedByCa, true);
  assert.equal(facts.notAfter, new Date(now.getTime() + 90 * DAY).toISOString().replace(/\.\d+Z$/, '.000Z'));
  assert.ok(Date.parse(facts.notBefore) <= now.getTime());
  // Checked independently with Node's own X.509 parser, the way a TLS client would.
  const x = new X509Certificate(server.cert);
  assert.ok(x.verify(new X509Certificate(ca.cert).publicKey));
  assert.equal(x.checkHost('demo-rw.prod.svc.cluster.local'), 'demo-rw.prod.svc.cluster.local');
  assert.equal(x.checkHost('demo-ro'), 'demo-ro');
  assert.equal(x.checkHost('evil.example'), undefined);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('10.0.0.7'), '10.0.0.7');
  assert.equal(x.checkIP('10.0.0.8'), undefined);
  assert.ok(x.checkPrivateKey(createPrivateKey(server.key)));
  assert.deepEqual(facts.ips, names.ips.map(normalizeIp));
});

test('a certificate from another CA is not taken as signed by ours', async () => {
  const ours = await createCa('ours', now, DAY * 10);
  const theirs = await createCa('theirs', now, DAY * 10);
  const cert = await issueServerCert(theirs, 'x', names, now, DAY);
  assert.equal((await inspectCert(cert.cert, ours.cert)).signedByCa, false);
});

test('renewal: missing, foreign, inside the window, or missing a name renews; otherwise keep', () => {
  const policy = { renewBeforeMs: 30 * DAY };
  const fresh = { notAfter: new Date(now.getTime() + 90 * DAY).toISOString(), dns: names.dns, ips: names.ips.map(normalizeIp), signedByCa: true };
  assert.deepEqual(renewalDecision(fresh, names, now, policy), { renew: false });
  assert.equal(renewalDecision(null, names, now, policy).renew, true);
  assert.equal(renewalDecision({ ...fresh, signedByCa: false }, names, now, policy).renew, true);
  assert.equal(renewalDecision(fresh, names, new Date(now.getTime() + 59 * DAY), policy).renew, false);
  const late = renewalDecision(fresh, names, new Date(now.getTime() + 61 * DAY), policy);
  assert.ok(late.renew && /renewal window/.test(late.reason));
  const grown = serverNames({ cluster: 'demo', namespace: 'prod', instances: ['demo-1', 'demo-2', 'demo-3'], ips: ['10.0.0.7'] });
  const d = renewalDecision(fresh, grown, now, policy);
  assert.ok(d.renew && d.reason.includes('demo-3'));
});

test('validity and renewal window are configurable and checked', () => {
  assert.deepEqual(tlsPolicyFrom({}), DEFAULT_TLS_POLICY);
  assert.equal(DEFAULT_TLS_POLICY.validityMs, 90 * DAY);
  assert.equal(DEFAULT_TLS_POLICY.renewBeforeMs, 30 * DAY);
  const quick = tlsPolicyFrom({ PGOP_TLS_CERT_VALIDITY: '60s', PGOP_TLS_RENEW_BEFORE: '45s' });
  assert.equal(quick.validityMs, 60_000);
  assert.equal(quick.renewBeforeMs, 45_000);
  assert.throws(() => tlsPolicyFrom({ PGOP_TLS_CERT_VALIDITY: '10d', PGOP_TLS_RENEW_BEFORE: '10d' }), /must be shorter/);
  assert.throws(() => parseDuration('1y', 'PGOP_TLS_CERT_VALIDITY'), /PGOP_TLS_CERT_VALIDITY must be/);
  assert.throws(() => parseDuration('5d; rm -rf /', 'X'), /X must be/);
});
