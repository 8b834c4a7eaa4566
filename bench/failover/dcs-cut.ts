// A TCP relay between one Patroni node and etcd that can black-hole its traffic: a partition of that node from the
// consensus store, while clients still reach its PostgreSQL (what `pgop local partition` does to an agent).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class DcsCut {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private cut = false;

  constructor(private readonly target: number) {}

  async start(port: number): Promise<void> {
    this.server = createServer((client) => {
      this.sockets.add(client);
      client.once('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      // Cut: accepted and never answered, like packets dropped on the way.
      if (this.cut) return;
      const up = connect(this.target, '127.0.0.1');
      this.sockets.add(up);
      up.once('close', () => this.sockets.delete(up));
      up.on('error', () => { client.destroy(); up.destroy(); });
      client.on('error', () => up.destroy());
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
  }

  /** Drops every open exchange (their requests hang until the client's own timeout) and black-holes new ones. */
  partition(): void {
    this.cut = true;
    for (const s of this.sockets) { s.unpipe(); s.pause(); }
  }

  heal(): void {
    this.cut = false;
    for (const s of this.sockets) s.destroy();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
