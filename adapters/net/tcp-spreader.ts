// One listening port that forwards each TCP connection to the target with the fewest open sessions, and cuts the
// sessions to a target that leaves the list. The local platform's -rw/-ro endpoints are these (the stand-in for a
// Service), and so is the read-only router pod's way to its replicas on Kubernetes (ADR 0043): a connection-level
// spread like kube-proxy's, plus the cut a Service does not make.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../logging/logger.js';

export interface Target { host: string; port: number }

const key = (t: Target) => `${t.host}:${t.port}`;

export class TcpSpreader {
  private server: Server | null = null;
  private targets: Target[] = [];
  private next = 0;
  private readonly sockets = new Set<Socket>();
  /** Client socket → the target it was forwarded to, to cut sessions to a target that is no longer selected. */
  private readonly sessions = new Map<Socket, { target: Target; upstream: Socket }>();

  /** `port` 0: the kernel picks one (read it from `port` after listen). */
  constructor(private listenPort: number, private readonly log: Logger, readonly name: string, private readonly host = '127.0.0.1') {}

  get port(): number { return this.listenPort; }

  /** Sessions forwarded and still open. */
  get openSessions(): number { return this.sessions.size; }

  setTargets(targets: Target[]): void {
    const changed = JSON.stringify(targets) !== JSON.stringify(this.targets);
    this.targets = targets;
    if (!changed) return;
    this.log.info({ endpoint: this.name, port: this.listenPort, targets }, 'endpoint targets changed');
    // Like HAProxy's on-marked-down shutdown-sessions: a fenced old primary keeps no client it could still answer
    // (a frozen one would otherwise acknowledge, at its thaw, what those clients had sent meanwhile); a replica
    // promoted or fenced keeps no read-only session.
    const kept = new Set(targets.map(key));
    for (const [client, { target, upstream }] of this.sessions) {
      if (!kept.has(key(target))) { client.destroy(); upstream.destroy(); this.sessions.delete(client); }
    }
  }

  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => this.forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.host, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', (e) => this.log.error({ endpoint: this.name, err: e.message }, 'endpoint listener error'));
    this.listenPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /**
   * The target with the fewest open sessions, ties taken in turn. Plain round-robin aliases when two streams of
   * connections interleave (a router's login lookups beside its pool: every pool connection could land on one replica).
   */
  private pick(): Target | undefined {
    const n = this.targets.length;
    if (!n) return undefined;
    const open = new Map<string, number>();
    for (const { target } of this.sessions.values()) open.set(key(target), (open.get(key(target)) ?? 0) + 1);
    let best: Target | undefined;
    let fewest = Infinity;
    for (let i = 0; i < n; i++) {
      const t = this.targets[(this.next + i) % n]!;
      const count = open.get(key(t)) ?? 0;
      if (count < fewest) { best = t; fewest = count; }
    }
    this.next = (this.targets.indexOf(best!) + 1) % n;
    return best;
  }

  private forward(client: Socket): void {
    const target = this.pick();
    if (!target) { client.destroy(); return; }
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); s.on('error', () => { client.destroy(); upstream.destroy(); }); }
    this.sessions.set(client, { target, upstream });
    client.once('close', () => this.sessions.delete(client));
    client.pipe(upstream).pipe(client);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = null;
  }
}
