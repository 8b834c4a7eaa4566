// Backend connections for one (role, database): idle ones are reused LIFO (warm caches, fewer live connections),
// clients wait FIFO when all `size` are in use. Transaction pooling means a client holds one only from its first
// message in a transaction to the ReadyForQuery 'I' that ends it.
import type { Logger } from 'pino';
import { BackendConnection, type BackendTarget } from './backend-connection.js';
import { errorField } from '../protocol/backend-messages.js';

export interface PoolStats { total: number; idle: number; waiting: number }

interface Waiter { resolve: (c: BackendConnection) => void; reject: (e: Error) => void }

export class BackendPool {
  private readonly idle: BackendConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly gone = new WeakSet<BackendConnection>();
  private total = 0;
  private opening = 0;
  private clientKey: Buffer;
  private serverKey: Buffer | null;
  /** Server parameters as the first backend reported them: what clients see at login. */
  serverParams: Map<string, string> | null = null;
  closed = false;

  constructor(readonly role: string, readonly database: string, private readonly target: BackendTarget,
    readonly size: number, keys: { clientKey: Buffer; serverKey: Buffer | null }, private readonly log: Logger) {
    this.clientKey = keys.clientKey;
    this.serverKey = keys.serverKey;
  }

  /** A later login proves the current password: use its keys for new connections (passwords change). */
  updateKeys(keys: { clientKey: Buffer; serverKey: Buffer | null }): void {
    this.clientKey = keys.clientKey;
    this.serverKey = keys.serverKey;
  }

  stats(): PoolStats { return { total: this.total, idle: this.idle.length, waiting: this.waiters.length }; }

  /** An idle connection right now, or null: the hot path links without a promise or a pause. */
  tryAcquire(): BackendConnection | null {
    return this.waiters.length ? null : this.idle.pop() ?? null;
  }

  acquire(): Promise<BackendConnection> {
    const c = this.idle.pop();
    if (c) return Promise.resolve(c);
    if (this.total < this.size) return this.open();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Hands a connection back (clean, idle); a broken one is dropped and replaced for whoever waits. */
  release(c: BackendConnection): void {
    c.onData = c.idleOnData;
    c.onClose = c.idleOnClose;
    if (c.closed || this.closed) { this.discard(c); return; }
    const w = this.waiters.shift();
    if (w) { w.resolve(c); return; }
    this.idle.push(c);
  }

  /** Drops a connection whose state is unknown (client vanished mid-transaction, protocol error). */
  discard(c: BackendConnection): void {
    if (this.gone.has(c)) return;
    this.gone.add(c);
    c.onData = () => undefined;
    c.onClose = () => undefined;
    if (c.socket.destroyed === false) c.socket.destroy();
    c.closed = true;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.total--;
    if (this.waiters.length && this.total + this.opening < this.size) {
      const w = this.waiters.shift()!;
      this.open().then(w.resolve, w.reject);
    }
  }

  private async open(): Promise<BackendConnection> {
    this.total++;
    this.opening++;
    try {
      const c = await BackendConnection.open(this.target, { user: this.role, database: this.database, clientKey: this.clientKey, serverKey: this.serverKey });
      if (!this.serverParams) this.serverParams = new Map(c.params);
      c.idleOnData = (chunk) => this.idleData(c, chunk);
      c.idleOnClose = (reason) => this.lost(c, reason);
      c.onData = c.idleOnData;
      c.onClose = c.idleOnClose;
      return c;
    } catch (e) {
      this.total--;
      throw e;
    } finally {
      this.opening--;
    }
  }

  private lost(c: BackendConnection, reason: string): void {
    if (this.gone.has(c)) return;
    this.log.info({ role: this.role, database: this.database, backendPid: c.processId, reason }, 'idle backend connection closed');
    this.discard(c);
  }

  /** An idle server only speaks to say it is going away (FATAL on shutdown); anything else is noise. */
  private idleData(c: BackendConnection, chunk: Buffer): void {
    if (chunk[0] === 0x45) {
      this.log.warn({ role: this.role, backendPid: c.processId, sqlstate: errorField(chunk, 5, chunk.length, 'C') }, 'idle backend reported an error; dropping it');
      c.socket.destroy();
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new Error('router is shutting down'));
    for (const c of this.idle.splice(0)) { this.gone.add(c); c.close(); this.total--; }
  }
}
