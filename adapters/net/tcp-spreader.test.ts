import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import { TcpSpreader } from './tcp-spreader.js';

/** A server that answers every connection with its own name. */
async function namedServer(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.end(`${name}\n`));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

const readAll = async (port: number): Promise<string> => {
  const s = connect(port, '127.0.0.1');
  let out = '';
  s.on('data', (d: Buffer) => { out += d.toString(); });
  await once(s, 'close');
  return out.trim();
};

test('short connections alternate over the targets, on a port the kernel picked', async (t) => {
  const a = await namedServer('a');
  const b = await namedServer('b');
  const spreader = new TcpSpreader(0, pino({ level: 'silent' }), 'test');
  t.after(async () => { await spreader.close(); a.server.close(); b.server.close(); });
  await spreader.listen();
  assert.ok(spreader.port > 0);
  spreader.setTargets([{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }]);
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await readAll(spreader.port));
  assert.deepEqual(got.sort(), ['a', 'a', 'b', 'b']);
});

test('a target that leaves the list loses its open sessions; with no target a connection is closed at once', async (t) => {
  const held: Socket[] = [];
  const server = createServer((s) => { held.push(s); s.write('hello\n'); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const spreader = new TcpSpreader(0, pino({ level: 'silent' }), 'test');
  t.after(async () => { await spreader.close(); for (const s of held) s.destroy(); server.close(); });
  await spreader.listen();
  spreader.setTargets([{ host: '127.0.0.1', port }]);
  const client = connect(spreader.port, '127.0.0.1');
  client.on('error', () => undefined);
  await once(client, 'data');
  const closed = once(client, 'close');
  spreader.setTargets([]);
  await closed;
  assert.equal(await readAll(spreader.port), '', 'nothing to forward to: closed without data');
});

test('a new connection goes to the target with the fewest open sessions, whatever the order they came in', async (t) => {
  const held: Socket[] = [];
  const servers = await Promise.all(['a', 'b'].map(async (name) => {
    const server = createServer((s) => { held.push(s); s.write(`${name}\n`); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { server, port: (server.address() as AddressInfo).port };
  }));
  const spreader = new TcpSpreader(0, pino({ level: 'silent' }), 'test');
  const clients: Socket[] = [];
  t.after(async () => { for (const c of clients) c.destroy(); await spreader.close(); for (const s of held) s.destroy(); for (const x of servers) x.server.close(); });
  await spreader.listen();
  spreader.setTargets(servers.map((x) => ({ host: '127.0.0.1', port: x.port })));
  const first = async () => {
    const c = connect(spreader.port, '127.0.0.1');
    c.on('error', () => undefined);
    clients.push(c);
    const [d] = await once(c, 'data') as [Buffer];
    return { c, name: d.toString().trim() };
  };
  // One long session on a, then a run of short ones: plain round-robin would send every other one to a.
  const long = await first();
  const names = [long.name];
  for (let i = 0; i < 4; i++) {
    const s = await first();
    names.push(s.name);
    s.c.destroy();
    while (spreader.openSessions > 1) await new Promise((r) => setTimeout(r, 5));
  }
  assert.deepEqual(names.slice(1), Array(4).fill(long.name === 'a' ? 'b' : 'a'));
});
