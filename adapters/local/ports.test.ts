import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ephemeralRange, freePort, listeningSpans, portIsFree, reserve } from './ports.js';

test('ports are chosen outside the range outgoing connections take their source ports from', async () => {
  const [lo, hi] = ephemeralRange();
  const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
  for (const p of ports) assert.ok(p < lo || p > hi, `${p} is inside the ephemeral range ${lo}-${hi}`);
  assert.equal(new Set(ports).size, ports.length, 'no port handed out twice');
  for (const p of ports.slice(0, 20)) assert.ok(await portIsFree(p));
});

test('a client socket holding a port keeps a server from binding it: why the ephemeral range is avoided', async () => {
  const server: Server = createServer((s) => s.resume());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const client: Socket = connect({ host: '127.0.0.1', port: typeof address === 'object' && address ? address.port : 0 });
  await new Promise((r) => client.once('connect', r));
  try {
    assert.equal(await portIsFree(client.localPort ?? 0), false);
  } finally {
    client.destroy();
    server.close();
  }
});

test('the range is read from the kernel setting; a range covering almost every port leaves no span', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-ports-'));
  writeFileSync(join(dir, 'range'), '40000\t50000\n');
  assert.deepEqual(ephemeralRange(join(dir, 'range')), [40000, 50000]);
  assert.deepEqual(ephemeralRange(join(dir, 'missing')), [32768, 60999]);
  assert.deepEqual(listeningSpans([40000, 50000]), [[10000, 39999], [50001, 65535]]);
  assert.deepEqual(listeningSpans([1024, 65535]), []);
});

test('a port handed out is reserved machine-wide for a while: nobody else gets it before it is bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-reservations-'));
  const now = Date.now();
  assert.equal(reserve(20001, dir, now), true);
  assert.equal(reserve(20001, dir, now + 60_000), false, 'another process a minute later');
  assert.equal(reserve(20002, dir, now), true, 'another port');
  utimesSync(join(dir, '20001'), (now - 16 * 60_000) / 1000, (now - 16 * 60_000) / 1000);
  assert.equal(reserve(20001, dir, now), true, 'an old reservation lapses');
  assert.equal(reserve(20001, dir, now + 1000), false, 'and is renewed by the new claim');
});
