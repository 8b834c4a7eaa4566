// A diagnostic baseline for bench/router, not a product: the least a Node process can do between pgbench and
// PostgreSQL (one backend socket per client, every chunk written on as it arrives, no parsing, no pooling). Its CPU
// per statement is what Node's own socket reads and writes cost here, the floor under any router written on them.
import { createServer, connect } from 'node:net';

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
if (!listenPort || !backendPort) { console.error('usage: node-relay LISTEN_PORT BACKEND_PORT'); process.exit(2); }
createServer({ noDelay: true }, (client) => {
  const server = connect({ host: '127.0.0.1', port: backendPort, noDelay: true });
  client.on('data', (c: Buffer) => server.write(c));
  server.on('data', (c: Buffer) => client.write(c));
  const end = () => { client.destroy(); server.destroy(); };
  for (const s of [client, server]) { s.on('close', end); s.on('error', end); }
}).listen(listenPort, '127.0.0.1');
