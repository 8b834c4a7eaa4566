// The agent's HTTP API. Open: GET /healthz and /readyz (kubelet probes cannot send a token; they answer only
// ok/ready/not ready) and GET /metrics (Prometheus convention; no secret in it). Everything else needs the cluster's
// bearer token: GET /status, and the actions POST /promote, /demote, /fence, /hold, /release, /checkpoint, /backup and /verify
// (Kubernetes backups and restore rehearsals), which take a JSON body of at most 64 KiB.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { bearerMatches, BadRequest } from './api-auth.js';

export interface AgentApi {
  /** The bearer token requests must carry (read each time: the platform may rewrite it). */
  token: () => string;
  status: () => Promise<{ ready: boolean }>;
  metrics: () => Promise<{ contentType: string; body: string }>;
  /** Role changes; each resolves with a JSON-able result, or rejects with BadRequest (400) or a message for a 409. */
  actions: Record<string, (body: Record<string, unknown>) => Promise<unknown>>;
  /** An unexpected failure: reported here in full, answered with a bare 500 (the caller may not hold the token). */
  onError: (err: Error, path: string) => void;
}

export const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(readonly code: number, message: string, readonly headers: Record<string, string> = {}) { super(message); }
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'actions take a JSON body: send content-type: application/json');
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return {};
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { throw new HttpError(400, 'the body is not valid JSON'); }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new HttpError(400, 'the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

const OPEN_GETS = new Set(['/healthz', '/readyz', '/metrics']);

export function startAgentApi(host: string, port: number, api: AgentApi): Promise<Server> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const reply = (code: number, type: string, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store', ...headers });
      res.end(body);
    };
    const json = (code: number, body: unknown) => reply(code, 'application/json', JSON.stringify(body));
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (OPEN_GETS.has(path)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${path} answers GET only`, { allow: 'GET' });
      if (path === '/healthz') return reply(200, 'text/plain', 'ok\n');
      // The Pod's readiness: a primary that holds the lease, or a replica that streams. Nothing more is said.
      if (path === '/readyz') return (await api.status()).ready ? reply(200, 'text/plain', 'ready\n') : reply(503, 'text/plain', 'not ready\n');
      const m = await api.metrics();
      return reply(200, m.contentType, m.body);
    }
    if (!bearerMatches(req.headers.authorization, api.token())) {
      throw new HttpError(401, 'this agent API needs the cluster\'s bearer token (Authorization: Bearer …)', { 'www-authenticate': 'Bearer realm="pgop-agent"' });
    }
    if (path === '/status') {
      if (req.method !== 'GET') throw new HttpError(405, '/status answers GET only', { allow: 'GET' });
      return json(200, await api.status());
    }
    // Own properties only: "/__proto__", "/constructor" or "/toString" must not reach Object.prototype.
    const name = path.slice(1);
    const action = Object.hasOwn(api.actions, name) ? api.actions[name] : undefined;
    if (!action) throw new HttpError(404, 'not found');
    if (req.method !== 'POST') throw new HttpError(405, `${path} is an action: use POST`, { allow: 'POST' });
    const body = await readJsonBody(req);
    try {
      return json(200, await action(body));
    } catch (e) {
      if (e instanceof BadRequest) throw new HttpError(400, e.message);
      return json(409, { error: (e as Error).message });
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      if (!(e instanceof HttpError)) api.onError(e instanceof Error ? e : new Error(String(e)), path);
      const err = e instanceof HttpError ? e : new HttpError(500, 'internal error (see the agent log)');
      if (res.headersSent) { res.destroy(); return; }
      // A refused body is not read to its end: say so, and close the connection after this answer.
      const closing = err.code === 413 || err.code === 415 || err.code === 401;
      res.writeHead(err.code, { 'content-type': 'application/json', 'cache-control': 'no-store', ...err.headers, ...(closing ? { connection: 'close' } : {}) });
      res.end(JSON.stringify({ error: err.message }));
      if (closing) req.resume();
    });
  });
  // Slow or endless request headers and bodies cannot hold connections open.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
