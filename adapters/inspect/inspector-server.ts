// A loopback-only relay for the Stately inspector: actors send inspection events over a WebSocket, a browser tab
// opened on this server receives them and hands them to the inspector UI in an iframe. No authentication, so it
// binds 127.0.0.1 only; reach it from elsewhere with port-forwarding (kubectl port-forward, ssh -L).
// Loopback alone does not stop a web page in the user's browser from opening ws://127.0.0.1:PORT (or reaching it
// through a DNS-rebound name): browsers always send Origin on a WebSocket handshake, so only the bridge page's own
// loopback origin and the hosted inspector's origin are let in, and the page is served only to a loopback Host.
// Non-browser clients (the operator's own inspector client) send no Origin and are on this machine already.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { WebSocketServer, WebSocket } from 'ws';

const INSPECTOR_UI = 'https://stately.ai/inspect';
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** The origins a browser may connect from: this server's own page (any loopback spelling) and the hosted UI. */
export function allowedOrigins(port: number): string[] {
  return [...LOOPBACK_HOSTS.map((h) => `http://${h}:${port}`), new URL(INSPECTOR_UI).origin];
}

const loopbackHost = (req: IncomingMessage, port: number) => LOOPBACK_HOSTS.map((h) => `${h}:${port}`).includes((req.headers.host ?? '').toLowerCase());

function bridgePage(wsUrl: string): string {
  // The iframe announces itself with @statelyai.connected; events received before that are held back.
  return `<!doctype html><meta charset="utf-8"><title>pgop · Stately inspector</title>
<style>html,body,iframe{margin:0;height:100%;width:100%;border:0}</style>
<iframe id="ui" src="${INSPECTOR_UI}"></iframe>
<script>
const ui = document.getElementById('ui');
const held = [];
let ready = false;
addEventListener('message', (m) => {
  if (m.data && m.data.type === '@statelyai.connected') { ready = true; held.splice(0).forEach((e) => ui.contentWindow.postMessage(e, '*')); }
});
const socket = new WebSocket(${JSON.stringify(wsUrl)});
socket.onmessage = (m) => { const e = JSON.parse(m.data); if (ready) ui.contentWindow.postMessage(e, '*'); else held.push(e); };
</script>`;
}

export interface InspectorServer { port: number; close(): Promise<void> }

/**
 * What a browser that connects late needs: every live actor's registration (with its definition) and its latest
 * snapshot, then the most recent events. A plain ring of the last N messages lost the registrations within seconds
 * on a busy operator, and the inspector shows nothing for an actor it was never told about.
 */
class InspectionHistory {
  private readonly actors = new Map<string, { registration: string; snapshot?: string }>();
  private readonly events: string[] = [];
  constructor(private readonly keepEvents: number, private readonly keepActors: number) {}

  record(text: string): void {
    const m = parseInspection(text);
    if (m?.type === '@xstate.actor' && m.sessionId) {
      this.actors.delete(m.sessionId);
      this.actors.set(m.sessionId, { registration: text });
      if (this.actors.size > this.keepActors) this.actors.delete(this.actors.keys().next().value as string);
    } else if (m?.type === '@xstate.snapshot' && m.sessionId) {
      const actor = this.actors.get(m.sessionId);
      if (!actor) return;
      if (FINAL.has(m.snapshot?.status ?? '')) this.actors.delete(m.sessionId); else actor.snapshot = text;
    } else {
      this.events.push(text);
      if (this.events.length > this.keepEvents) this.events.shift();
    }
  }

  replay(): string[] {
    return [...[...this.actors.values()].flatMap((a) => (a.snapshot ? [a.registration, a.snapshot] : [a.registration])), ...this.events];
  }
}

const FINAL = new Set(['done', 'error', 'stopped']);

function parseInspection(text: string): { type?: string; sessionId?: string; snapshot?: { status?: string } } | undefined {
  try {
    const m: unknown = JSON.parse(text);
    return m && typeof m === 'object' ? (m as { type?: string; sessionId?: string; snapshot?: { status?: string } }) : undefined;
  } catch { return undefined; }
}

export async function startInspectorServer(port: number, keepEvents = 500, keepActors = 10_000): Promise<InspectorServer> {
  const history = new InspectionHistory(keepEvents, keepActors);
  const http: Server = createServer((req, res) => {
    if (!loopbackHost(req, actual)) { res.writeHead(421, { 'content-type': 'text/plain' }); res.end('this relay answers only to a loopback Host\n'); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bridgePage(`ws://127.0.0.1:${actual}`));
  });
  const wss = new WebSocketServer({
    server: http,
    verifyClient: ({ origin, req }: { origin: string | undefined; req: IncomingMessage }) =>
      loopbackHost(req, actual) && (origin === undefined || allowedOrigins(actual).includes(origin)),
  });
  wss.on('connection', (ws) => {
    for (const m of history.replay()) ws.send(m);
    ws.on('message', (data) => {
      const text = data.toString();
      history.record(text);
      for (const c of wss.clients) if (c !== ws && c.readyState === WebSocket.OPEN) c.send(text);
    });
  });
  await new Promise<void>((resolve, reject) => { http.once('error', reject); http.listen(port, '127.0.0.1', resolve); });
  const addr = http.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    port: actual,
    close: () => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(); http.close(() => resolve()); }),
  };
}
