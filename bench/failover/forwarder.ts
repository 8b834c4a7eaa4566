// The read-write address for a Patroni cluster, as HAProxy would provide it: health-check every node's REST API
// (`GET /primary` answers 200 only on the leader) and forward new connections to the leader.
import { createServer, connect, type Server, type Socket } from 'node:net';

export class LeaderForwarder {
  private server: Server | null = null;
  private leader: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly nodes: { rest: number; pg: number }[], private readonly checkEveryMs = 200) {}

  async start(port: number): Promise<void> {
    this.timer = setInterval(() => { void this.check(); }, this.checkEveryMs);
    await this.check();
    this.server = createServer((client) => {
      if (this.leader === null) { client.destroy(); return; }
      const up = connect(this.leader, '127.0.0.1');
      for (const s of [client, up]) { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); s.on('error', () => { client.destroy(); up.destroy(); }); }
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
  }

  private async check(): Promise<void> {
    const results = await Promise.all(this.nodes.map(async (n) => {
      try { return (await fetch(`http://127.0.0.1:${n.rest}/primary`, { signal: AbortSignal.timeout(this.checkEveryMs) })).status === 200 ? n.pg : null; } catch { return null; }
    }));
    const leader = results.find((r) => r !== null) ?? null;
    if (leader !== this.leader) {
      // HAProxy's on-marked-down shutdown-sessions: connections to a demoted leader are cut.
      for (const s of this.sockets) s.destroy();
      this.leader = leader;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
