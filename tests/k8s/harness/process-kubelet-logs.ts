// The process kubelet's HTTPS endpoint, one per node as each kubelet has its own: GET /containerLogs/{ns}/{pod}/
// {container}, which the apiserver calls for `kubectl logs` (pods/log) at the node's InternalIP and
// status.daemonEndpoints.kubeletEndpoint.Port. As a kubelet does, it authenticates the caller by a client
// certificate of the cluster CA (401 otherwise) and authorizes it with a SubjectAccessReview for nodes/proxy (403).
// The log is the file the container process writes its stdout and stderr to; each start of the container appends
// to it, so the kubelet keeps where each start began: the current start's part is the log, `previous` the one before.
// What a CRI log file has and this one lacks is a timestamp per line, so timestamps/sinceSeconds/sinceTime are
// refused (400) rather than answered with invented times.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { AuthorizationV1Api } from '@kubernetes/client-node';
import type { Pki } from './pki.js';

/** One container's log as the kubelet knows it. */
export interface ContainerLog {
  node: string;
  container: string;
  file: string;
  /** Byte offset in `file` where each start of the container began, oldest first. */
  starts: readonly number[];
  running(): boolean;
}

export interface KubeletEndpoints {
  port(node: string): number;
  stop(): Promise<void>;
}

export interface KubeletEndpointOptions {
  nodes: string[];
  pki: Pick<Pki, 'ca' | 'kubeletCert' | 'kubeletKey'>;
  authz: AuthorizationV1Api;
  find(namespace: string, pod: string): ContainerLog | undefined;
  isFrozen(node: string): boolean;
  log(line: string): void;
}

const FOLLOW_POLL_MS = 200;
const UNSUPPORTED = ['timestamps', 'sinceSeconds', 'sinceTime'];

function readRange(file: string, start: number, end: number): Buffer {
  if (end <= start) return Buffer.alloc(0);
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    const n = readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n);
  } finally { closeSync(fd); }
}

/** The last `n` lines of `text` (a final line without its newline counts, as the kubelet's tail does). */
export function tailLines(text: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = text.length;
  if (end > 0 && text[end - 1] === 0x0a) end--;
  let at = end;
  for (let seen = 0; at > 0; at--) if (text[at - 1] === 0x0a && ++seen === n) break;
  return text.subarray(at);
}

const fail = (res: ServerResponse, code: number, msg: string) => { res.writeHead(code, { 'Content-Type': 'text/plain' }).end(`${msg}\n`); };

export async function startKubeletEndpoints(o: KubeletEndpointOptions): Promise<KubeletEndpoints> {
  const servers = new Map<string, { server: Server; port: number }>();
  const follows = new Set<NodeJS.Timeout>();
  const tls = { ca: readFileSync(o.pki.ca), cert: readFileSync(o.pki.kubeletCert), key: readFileSync(o.pki.kubeletKey) };

  /** The kubelet's webhook authorization: may this user reach the node's API (nodes/proxy covers /containerLogs)? */
  async function allowed(node: string, user: string, groups: string[]): Promise<boolean> {
    const review = await o.authz.createSubjectAccessReview({ body: {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user, groups, resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'proxy', name: node } },
    } });
    return review.status?.allowed === true;
  }

  async function handle(node: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A stalled node answers nothing; the apiserver's dial times out.
    if (o.isFrozen(node)) { req.socket.destroy(); return; }
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    if (!socket.authorized || !peer.subject) return fail(res, 401, 'Unauthorized');
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    const user = list(peer.subject.CN)[0] ?? '';
    if (!(await allowed(node, user, list(peer.subject.O)))) {
      return fail(res, 403, `Forbidden (user=${user}, verb=get, resource=nodes, subresource=proxy)`);
    }
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return fail(res, 404, '404 page not found');
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    const q = url.searchParams;
    const unsupported = UNSUPPORTED.filter((k) => q.has(k) && q.get(k) !== 'false');
    if (unsupported.length) return fail(res, 400, `process kubelet: ${unsupported.join(', ')} not supported (its container log has no per-line times)`);
    const c = o.find(ns, pod);
    if (!c || c.node !== node) return fail(res, 404, `pod "${pod}" in namespace "${ns}" not found on node ${node}`);
    if (c.container !== container) return fail(res, 404, `container "${container}" in pod "${pod}" is not available`);
    const previous = q.get('previous') === 'true';
    const startIndex = c.starts.length - (previous ? 2 : 1);
    if (startIndex < 0) return fail(res, 400, previous ? `previous terminated container "${container}" in pod "${pod}" not found` : `container "${container}" in pod "${pod}" is waiting to start`);
    const from = c.starts[startIndex]!;
    const current = () => startIndex === c.starts.length - 1;
    const size = () => statSync(c.file, { throwIfNoEntry: false })?.size ?? from;
    let to = previous ? c.starts[startIndex + 1]! : size();
    let body = readRange(c.file, from, to);
    const tail = q.get('tailLines');
    if (tail !== null) body = tailLines(body, Number(tail));
    const limit = q.has('limitBytes') ? Number(q.get('limitBytes')) : Infinity;
    let sent = 0;
    const send = (b: Buffer) => { const part = b.subarray(0, Math.max(0, limit - sent)); sent += part.length; if (part.length) res.write(part); return sent < limit; };
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    if (!send(body) || previous || q.get('follow') !== 'true') { res.end(); return; }
    // Follow: what the container writes next, until that start of it ends or the client goes.
    const timer = setInterval(() => {
      if (o.isFrozen(node)) return;
      // Whether it ended is read before the last bytes, so nothing it wrote before ending is lost. A pod of the same
      // name later is another run, with its own starts.
      const ended = !current() || !c.running() || o.find(ns, pod)?.starts !== c.starts;
      const end = current() ? size() : c.starts[startIndex + 1]!;
      const more = send(readRange(c.file, to, end));
      to = Math.max(to, end);
      if (!more || ended) { clearInterval(timer); follows.delete(timer); res.end(); }
    }, FOLLOW_POLL_MS);
    follows.add(timer);
    res.on('close', () => { clearInterval(timer); follows.delete(timer); });
  }

  for (const node of o.nodes) {
    // requestCert without rejectUnauthorized: an unauthenticated caller gets the kubelet's 401, not a TLS alert.
    const server = createServer({ ...tls, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      handle(node, req, res).catch((e: unknown) => {
        o.log(`node ${node}: ${req.url}: ${(e as Error).message}`);
        if (!res.headersSent) fail(res, 500, (e as Error).message); else res.end();
      });
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { const a = server.address(); resolve(typeof a === 'object' && a ? a.port : 0); });
    });
    servers.set(node, { server, port });
  }

  return {
    port(node) { return servers.get(node)?.port ?? 0; },
    async stop() {
      for (const t of follows) clearInterval(t);
      await Promise.all([...servers.values()].map(({ server }) => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); })));
    },
  };
}
