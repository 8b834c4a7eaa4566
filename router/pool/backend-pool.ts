// Backend connections for one (role, database[, shard]): idle ones are reused LIFO (warm caches, fewer live
// connections), clients wait FIFO when all `size` are in use. Transaction pooling means a client holds one only from
// its first message in a transaction to the ReadyForQuery 'I' that ends it.
//
// Buffering: when the backend is unavailable (connection refused, shutting down, or a standby after demotion), the
// pool holds new acquisitions, at most `buffer.maxQueued` of them for `buffer.timeoutMs` each, probes the backend
// and serves them once it (or the new address a config reload gives via retarget()) accepts a primary connection.
//
// Read-only (ADR 0043): the address spreads over replicas (a -ro endpoint). Only hot standbys are kept: a connection
// that finds or turns out to be a primary (a promoted replica the endpoint has not dropped yet) is refused as "not
// now", so a read-only router never writes. Idle connections are reused FIFO, so transactions rotate over the
// connections and thus over the replicas the endpoint spread them on (PgBouncer's server_round_robin = 1).
import type { Logger } from 'pino';
import { BackendConnection, noop, type BackendTarget } from './backend-connection.js';
import { errorField } from '../protocol/backend-messages.js';

export interface PoolStats { total: number; idle: number; waiting: number; buffered: number }
export interface BufferPolicy { timeoutMs: number; maxQueued: number }

/** Events the metrics count; plain callbacks so the pool stays free of prom-client. */
export interface PoolEvents {
  buffered(): void;
  bufferTimedOut(): void;
  waited(ms: number): void;
}

interface Waiter { resolve: (c: BackendConnection) => void; reject: (e: Error) => void; since: number; timer: NodeJS.Timeout | null }

export class PoolError extends Error {
  constructor(message: string, readonly sqlstate: string) { super(message); this.name = 'PoolError'; }
}

/** SQLSTATEs that mean "this server cannot take work now", not "your request is wrong". */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '08006', '08001', '08004', '25006']);
const PROBE_MS = 200;

export function isUnavailable(e: unknown): boolean {
  const state = (e as { sqlstate?: string }).sqlstate;
  return state === undefined || UNAVAILABLE_STATES.has(state);
}

const noEvents: PoolEvents = { buffered: () => undefined, bufferTimedOut: () => undefined, waited: () => undefined };

export class BackendPool {
  private readonly idle: BackendConnection[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly gone = new WeakSet<BackendConnection>();
  private total = 0;
  private opening = 0;
  private clientKey: Buffer;
  private serverKey: Buffer | null;
  /** Why the backend cannot take work now; null when it can. */
  private unavailable: string | null = null;
  private probe: NodeJS.Timeout | null = null;
  /** Server parameters as the first backend reported them: what clients see at login. */
  serverParams: Map<string, string> | null = null;
  closed = false;

  constructor(readonly role: string, readonly database: string, private target: BackendTarget,
    readonly size: number, keys: { clientKey: Buffer; serverKey: Buffer | null }, private readonly log: Logger,
    private readonly buffer: BufferPolicy = { timeoutMs: 0, maxQueued: 0 }, readonly shard = '', private readonly events: PoolEvents = noEvents,
    readonly readOnly = false) {
    this.clientKey = keys.clientKey;
    this.serverKey = keys.serverKey;
  }

  /** A later login proves the current password: use its keys for new connections (passwords change). */
  updateKeys(keys: { clientKey: Buffer; serverKey: Buffer | null }): void {
    this.clientKey = keys.clientKey;
    this.serverKey = keys.serverKey;
  }

  stats(): PoolStats {
    return { total: this.total, idle: this.idle.length, waiting: this.waiters.length, buffered: this.unavailable ? this.waiters.length : 0 };
  }

  /** An idle connection right now, or null: the hot path links without a promise or a pause. */
  tryAcquire(): BackendConnection | null {
    return this.waiters.length || this.unavailable ? null : this.popIdle();
  }

  /** The newest idle connection still open (the oldest when read-only); ones whose socket already ended are dropped on the way. */
  private popIdle(): BackendConnection | null {
    for (let c = this.takeIdle(); c; c = this.takeIdle()) {
      if (!c.closed && !c.socket.destroyed && c.socket.writable && !this.promoted(c)) return c;
      this.idle.push(c);
      this.discard(c);
    }
    return null;
  }

  private takeIdle(): BackendConnection | undefined { return this.readOnly ? this.idle.shift() : this.idle.pop(); }

  /** Read-only: the server reported (ParameterStatus, PostgreSQL 14+) that it left recovery; it takes writes now. */
  private promoted(c: BackendConnection): boolean { return this.readOnly && c.params.get('in_hot_standby') === 'off'; }

  acquire(): Promise<BackendConnection> {
    if (!this.unavailable) {
      const c = this.popIdle();
      if (c) return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject, since: Date.now(), timer: null };
      if (this.unavailable && !this.hold(w)) return;
      this.waiters.push(w);
      this.pump();
    });
  }

  /** Hands a connection back (clean, idle); a broken one, or one to an address no longer current, is dropped. */
  release(c: BackendConnection): void {
    c.onData = c.idleOnData;
    c.onClose = c.idleOnClose;
    c.onDrain = noop;
    if (c.closed || this.closed || c.target !== this.target || this.unavailable || this.promoted(c)) { this.discard(c); return; }
    const w = this.waiters.shift();
    if (w) { this.give(w, c); return; }
    this.idle.push(c);
  }

  /** Drops a connection whose state is unknown (client vanished mid-transaction, protocol error). */
  discard(c: BackendConnection): void {
    if (this.gone.has(c)) return;
    this.gone.add(c);
    c.onData = noop;
    c.onClose = noop;
    c.onDrain = noop;
    if (c.socket.destroyed === false) c.socket.destroy();
    c.closed = true;
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    this.total--;
    this.pump();
  }

  /**
   * The backend refused work in a way that says "not now" (shutdown, standby): hold new transactions until it, or
   * the address the next reload gives, accepts a primary connection again.
   */
  markUnavailable(reason: string): void {
    if (this.closed) return;
    if (!this.unavailable) {
      this.log.warn({ shard: this.shard, target: `${this.target.host}:${this.target.port}`, reason }, 'backend unavailable; buffering new transactions');
      for (const c of this.idle.splice(0)) { this.gone.add(c); c.onClose = () => undefined; c.socket.destroy(); c.closed = true; this.total--; }
      const held = this.waiters.splice(0);
      this.unavailable = reason;
      for (const w of held) if (this.hold(w)) this.waiters.push(w);
    }
    this.unavailable = reason;
    this.scheduleProbe(PROBE_MS);
  }

  /** A config reload moved this backend (failover, switchover): new connections go to the new address. */
  retarget(target: BackendTarget): void {
    const moved = target.host !== this.target.host || target.port !== this.target.port || target.tls?.ca !== this.target.tls?.ca
      || target.tls?.servername !== this.target.tls?.servername;
    // The same address keeps the same object, so connections in use stay reusable at hand-back.
    if (!moved) return;
    this.target = target;
    this.log.info({ shard: this.shard, target: `${target.host}:${target.port}` }, 'backend address changed');
    for (const c of this.idle.splice(0)) { this.gone.add(c); c.onClose = () => undefined; c.close(); this.total--; }
    if (this.unavailable) this.scheduleProbe(0);
  }

  /** Queues a waiter while the backend is unavailable: bounded in number and in time. */
  private hold(w: Waiter): boolean {
    const queued = this.waiters.length;
    if (this.buffer.timeoutMs === 0 || queued >= this.buffer.maxQueued) {
      w.reject(new PoolError(`${this.label()} is unavailable (${this.unavailable}) and ${this.buffer.timeoutMs === 0 ? 'buffering is off' : `${queued} transactions are already buffered (buffer.maxQueued)`}`, '57P03'));
      return false;
    }
    this.events.buffered();
    const left = Math.max(0, this.buffer.timeoutMs - (Date.now() - w.since));
    w.timer = setTimeout(() => {
      const i = this.waiters.indexOf(w);
      if (i < 0) return;
      this.waiters.splice(i, 1);
      this.events.bufferTimedOut();
      w.reject(new PoolError(`${this.label()} stayed unavailable for ${this.buffer.timeoutMs} ms (buffer.timeoutMs): ${this.unavailable}`, '57P03'));
    }, left);
    w.timer.unref?.();
    return true;
  }

  private label(): string {
    if (this.readOnly) return `read-only backend ${this.target.host}:${this.target.port} (ready replicas only, no fallback to the primary)`;
    return this.shard ? `shard ${this.shard}` : `backend ${this.target.host}:${this.target.port}`;
  }

  private give(w: Waiter, c: BackendConnection): void {
    if (w.timer) clearTimeout(w.timer);
    this.events.waited(Date.now() - w.since);
    w.resolve(c);
  }

  /** Serves waiters from idle connections, then by opening new ones up to `size`. */
  private pump(): void {
    if (this.closed || this.unavailable) return;
    while (this.waiters.length && this.idle.length) {
      const c = this.popIdle();
      if (c) this.give(this.waiters.shift()!, c);
    }
    while (this.waiters.length > this.opening && this.total < this.size) {
      this.open().then((c) => this.release(c), (e: Error) => {
        if (isUnavailable(e) && this.buffer.timeoutMs > 0) { this.markUnavailable(e.message); return; }
        const w = this.waiters.shift();
        if (w) { if (w.timer) clearTimeout(w.timer); w.reject(e); }
      });
    }
  }

  private scheduleProbe(ms: number): void {
    if (this.probe) { if (ms > 0) return; clearTimeout(this.probe); }
    this.probe = setTimeout(() => {
      this.probe = null;
      if (this.closed || !this.unavailable) return;
      if (!this.waiters.length) return; // the next acquire probes again
      this.open().then((c) => {
        this.log.info({ shard: this.shard, target: `${this.target.host}:${this.target.port}` }, 'backend available again; releasing buffered transactions');
        this.unavailable = null;
        this.release(c);
        this.pump();
      }, (e: Error) => {
        if (this.unavailable) this.unavailable = e.message;
        this.scheduleProbe(PROBE_MS);
      });
    }, ms);
    this.probe.unref?.();
  }

  private async open(): Promise<BackendConnection> {
    this.total++;
    this.opening++;
    const target = this.target;
    try {
      const c = await BackendConnection.open(target, { user: this.role, database: this.database, clientKey: this.clientKey, serverKey: this.serverKey });
      const standby = c.params.get('in_hot_standby') === 'on';
      if (this.readOnly) {
        // A replica promoted a moment ago, still behind the -ro address: not a place for a read-only router.
        if (!standby) {
          c.close();
          throw new PoolError(`${this.label()} reached server process ${c.processId}, which is not a hot standby (a replica being promoted?)`, '57P03');
        }
      } else if (standby || c.params.get('default_transaction_read_only') === 'on') {
        // After a demotion the old address answers as a standby: not a place for read-write transactions.
        c.close();
        throw new PoolError(`${this.label()} at ${target.host}:${target.port} is read-only (a standby)`, '25006');
      }
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
    // Read-only: ParameterStatus in_hot_standby=off while idle means a promotion; drop it before a session gets it.
    if (this.readOnly && chunk.includes('in_hot_standby\0off\0')) {
      this.log.info({ role: this.role, backendPid: c.processId }, 'idle backend left recovery (promoted); dropping it from the read-only pool');
      this.discard(c);
      return;
    }
    if (chunk[0] === 0x45) {
      const sqlstate = errorField(chunk, 5, chunk.length, 'C');
      this.log.warn({ role: this.role, backendPid: c.processId, sqlstate }, 'idle backend reported an error; dropping it');
      // Out of the idle list now, not at the 'close' event: a session taking it in between would write to a dead socket.
      this.discard(c);
    }
  }

  close(): void {
    this.closed = true;
    if (this.probe) clearTimeout(this.probe);
    for (const w of this.waiters.splice(0)) { if (w.timer) clearTimeout(w.timer); w.reject(new Error('router is shutting down')); }
    for (const c of this.idle.splice(0)) { this.gone.add(c); c.close(); this.total--; }
  }
}
