import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** GET /metrics and /healthz on loopback (port-forward to reach it from elsewhere). */
export function serveMetrics(registry: Registry, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((body) => { res.writeHead(200, { 'content-type': registry.contentType }); res.end(body); },
        (e: unknown) => { res.writeHead(500); res.end(String(e)); });
    } else if (req.url === '/healthz') { res.writeHead(200); res.end('ok\n'); } else { res.writeHead(404); res.end(); }
  });
  return new Promise((resolve, reject) => { server.once('error', reject); server.listen(port, host, () => resolve(server)); });
}
