// The agent's `pgbackrest server` (real pgBackRest, real TLS): a renewed certificate must reach new sessions without
// ending the ones in flight. A standby's `check` runs through this server right after its backup, which is when a
// young cluster's certificate gains a pod IP; a restart there failed the check ("unexpected eof while reading").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { PgbackrestServer } from './pgbackrest-server.js';
import { tlsFiles } from './layout.js';
import { createCa, issueServerCert, type KeyPairPem } from '../adapters/certs/x509.js';
import { PGBACKREST_TLS_PORT } from '../adapters/backup/pgbackrest-config.js';
import type { InstanceSpec } from '../adapters/instance/spec.js';

const DAY = 24 * 3600_000;

interface Session { socket: TLSSocket; serial: string; greeting: string; ended: () => boolean }

/** A TLS session with the server as a peer instance opens it: the cluster certificate as client certificate. */
function open(host: string, ca: string, client: KeyPairPem): Promise<Session> {
  return new Promise((resolve, reject) => {
    let ended = false;
    let greeting = '';
    const socket = connect({ host, port: PGBACKREST_TLS_PORT, ca, cert: client.cert, key: client.key, checkServerIdentity: () => undefined });
    socket.setEncoding('utf8');
    socket.on('error', reject);
    socket.on('end', () => { ended = true; });
    socket.on('close', () => { ended = true; reject(new Error('closed before the greeting')); });
    socket.on('data', (chunk: string) => {
      greeting += chunk;
      // pgBackRest greets every session it accepts with one line naming itself, then waits for a command.
      if (greeting.includes('\n')) resolve({ socket, serial: socket.getPeerCertificate().serialNumber, greeting, ended: () => ended });
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: unknown;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    try { const v = await fn(); if (ok(v)) return v; last = v; } catch (e) { last = (e as Error).message; }
  }
  throw new Error(`${what}: not within 20 s (last: ${String(last)})`);
}

test('a renewed certificate is served to new sessions by a reload, and the session in flight keeps going', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-brserver-'));
  // A loopback address of its own: the server's port is fixed, and other tests may run a server at the same time.
  const host = `127.${randomInt(100, 250)}.${randomInt(1, 250)}.${randomInt(2, 250)}`;
  const spec = {
    cluster: { namespace: 'default', name: 'demo' }, name: 'demo-1', host, runDir: join(dir, 'run'),
    secrets: { superuser: join(dir, 'superuser') },
    backup: { stanza: 'default_demo', repository: { posix: { path: join(dir, 'repo') } } },
  } as unknown as InstanceSpec;
  const files = tlsFiles(spec);
  mkdirSync(join(dir, 'run', 'tls'), { recursive: true });
  writeFileSync(spec.secrets.superuser, 'not used here\n');
  const ca = await createCa('demo-ca', new Date(), DAY);
  const install = (kp: KeyPairPem) => { writeFileSync(files.key, kp.key, { mode: 0o600 }); writeFileSync(files.cert, kp.cert); };
  writeFileSync(files.ca, ca.cert);
  const first = await issueServerCert(ca, 'demo', { dns: ['demo-1'], ips: [] }, new Date(), DAY);
  install(first);

  const server = new PgbackrestServer(() => spec, null, pino({ level: 'silent' }));
  server.start(200);
  try {
    const inFlight = await until('a first session', () => open(host, ca.cert, first), () => true);
    assert.match(inFlight.greeting, /pgBackRest/);
    const firstSerial = inFlight.serial;

    const renewed = await issueServerCert(ca, 'demo', { dns: ['demo-1', host], ips: [] }, new Date(), DAY);
    install(renewed);
    const later = await until('a session with the renewed certificate', async () => {
      const s = await open(host, ca.cert, renewed);
      s.socket.destroy();
      return s.serial;
    }, (serial) => serial !== firstSerial);
    assert.notEqual(later, firstSerial);

    // A restart would have ended it before the new server could accept anything; a reload leaves it open.
    assert.equal(inFlight.ended(), false, 'the session opened before the renewal is still open');
    inFlight.socket.destroy();
  } finally {
    server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
