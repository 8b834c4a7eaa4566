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
