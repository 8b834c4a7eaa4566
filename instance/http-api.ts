// The agent's HTTP API: GET /status, /metrics, /healthz, /readyz; POST /promote, /demote, /fence, /checkpoint.
import { createServer, type Server, type IncomingMessage } from 'node:http';

export interface AgentApi {
  status: () => Promise<{ ready: boolean }>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Role changes; each resolves with a JSON-able result or rejects with a message for a 409. */
  actions: Record<string, (body: Record<string, unknown>) => Promise<unknown>>;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  if (!text.trim()) return {};
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
}

export function startAgentApi(host: string, port: number, api: AgentApi): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (code: number, type: string, body: string) => { res.writeHead(code, { 'content-type': type }); res.end(body); };
    const json = (code: number, body: unknown) => reply(code, 'application/json', JSON.stringify(body));
    const route = async () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (req.method === 'GET' && path === '/status') return json(200, await api.status());
      if (req.method === 'GET' && path === '/metrics') { const m = await api.metrics(); return reply(200, m.contentType, m.body); }
      if (req.method === 'GET' && path === '/healthz') return reply(200, 'text/plain', 'ok\n');
      // The Pod's readiness: a primary that holds the lease, or a replica that streams.
      if (req.method === 'GET' && path === '/readyz') return (await api.status()).ready ? reply(200, 'text/plain', 'ready\n') : reply(503, 'text/plain', 'not ready\n');
      const action = api.actions[path.slice(1)];
      if (req.method === 'POST' && action) {
        try { return json(200, await action(await readBody(req))); } catch (e) { return json(409, { error: (e as Error).message }); }
      }
      return reply(404, 'text/plain', 'not found\n');
    };
    route().catch((e: unknown) => reply(500, 'text/plain', `${(e as Error).message}\n`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
