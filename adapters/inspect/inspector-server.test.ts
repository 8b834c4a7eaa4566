import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { startInspectorServer } from './inspector-server.js';

const relay = await startInspectorServer(0);
after(() => relay.close());
const url = `ws://127.0.0.1:${relay.port}`;

/** Opens a WebSocket with the given handshake headers; resolves with the HTTP status of a refusal, or 101. */
function handshake(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => { ws.close(); resolve(101); });
    ws.once('unexpected-response', (_req, res) => { res.resume(); resolve(res.statusCode ?? 0); });
    ws.once('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });
}

test('a web page from a foreign origin cannot open the relay', async () => {
  assert.equal(await handshake({ origin: 'https://evil.example' }), 401);
  assert.equal(await handshake({ origin: `http://127.0.0.1:${relay.port + 1}` }), 401, 'another loopback port is another origin');
  assert.equal(await handshake({ origin: 'null' }), 401, 'sandboxed frames and file: pages send "null"');
});

test("the bridge page's own origin, the hosted inspector and non-browser clients connect", async () => {
  assert.equal(await handshake({ origin: `http://127.0.0.1:${relay.port}` }), 101);
  assert.equal(await handshake({ origin: `http://localhost:${relay.port}` }), 101);
  assert.equal(await handshake({ origin: 'https://stately.ai' }), 101);
  assert.equal(await handshake({}), 101);
});

test('a DNS-rebound name (a foreign Host) gets neither the page nor the socket', async () => {
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path: '/', headers: { host: `rebound.evil.example:${relay.port}` } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', reject);
    req.end();
  });
  assert.equal(status, 421);
  assert.equal(await handshake({ host: `rebound.evil.example:${relay.port}`, origin: `http://rebound.evil.example:${relay.port}` }), 401);
  const page = await fetch(`http://127.0.0.1:${relay.port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /stately\.ai\/inspect/);
});

/** Connects, collects what the relay replays for a while, and closes. */
async function replayed(relayUrl: string): Promise<Array<{ type: string; sessionId: string; snapshot?: { value?: string } }>> {
  const ws = new WebSocket(relayUrl);
  const got: string[] = [];
  ws.on('message', (d) => got.push(d.toString()));
  await new Promise((r) => ws.once('open', r));
  await new Promise((r) => setTimeout(r, 200));
  ws.close();
  return got.map((m) => JSON.parse(m) as { type: string; sessionId: string; snapshot?: { value?: string } });
}

test('a late browser still gets every live actor with its latest snapshot, however many events came after', async () => {
  const small = await startInspectorServer(0, 3);
  after(() => small.close());
  const producer = new WebSocket(`ws://127.0.0.1:${small.port}`);
  await new Promise((r) => producer.once('open', r));
  const send = (m: object) => producer.send(JSON.stringify(m));
  send({ type: '@xstate.actor', sessionId: 'cluster', definition: '{"id":"cluster"}', snapshot: { status: 'active', value: 'pending' } });
  send({ type: '@xstate.actor', sessionId: 'instance', definition: '{"id":"instance"}', snapshot: { status: 'active', value: 'starting' } });
  send({ type: '@xstate.actor', sessionId: 'clone', definition: '{"id":"clone"}', snapshot: { status: 'active' } });
  for (let i = 0; i < 20; i++) {
    send({ type: '@xstate.event', sessionId: 'instance', event: { type: `tick-${i}` } });
    send({ type: '@xstate.snapshot', sessionId: 'instance', snapshot: { status: 'active', value: `running-${i}` } });
  }
  send({ type: '@xstate.snapshot', sessionId: 'clone', snapshot: { status: 'done' } });
  await new Promise((r) => setTimeout(r, 200));
  producer.close();
  const got = await replayed(`ws://127.0.0.1:${small.port}`);
  const actors = got.filter((m) => m.type === '@xstate.actor').map((m) => m.sessionId);
  assert.deepEqual(actors, ['cluster', 'instance'], 'registrations outlive the event ring; a finished actor is not replayed');
  assert.deepEqual(got.filter((m) => m.type === '@xstate.snapshot').map((m) => m.snapshot?.value), ['running-19'], 'only the latest snapshot per actor');
  assert.equal(got.filter((m) => m.type === '@xstate.event').length, 3, 'the event ring keeps its size');
  assert.ok(got.findIndex((m) => m.type === '@xstate.actor') < got.findIndex((m) => m.type === '@xstate.event'), 'actors come before events about them');
});
