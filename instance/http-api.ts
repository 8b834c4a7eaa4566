// The agent's HTTP API: GET /status, GET /metrics, GET /healthz.
import { createServer, type Server } from 'node:http';

export interface AgentApi {
  status: () => Promise<unknown>;
  metrics: () => Promise<{ contentType: string; body: string }>;
}

export function startAgentApi(host: string, port: number, api: AgentApi): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    const route = async () => {
      if (req.method !== 'GET') return reply(405, 'text/plain', 'method not allowed\n');
      if (req.url === '/status') return reply(200, 'application/json', JSON.stringify(await api.status()));
      if (req.url === '/metrics') { const m = await api.metrics(); return reply(200, m.contentType, m.body); }
      if (req.url === '/healthz') return reply(200, 'text/plain', 'ok\n');
      return reply(404, 'text/plain', 'not found\n');
    };
    route().catch((e: unknown) => reply(500, 'text/plain', `${(e as Error).message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
