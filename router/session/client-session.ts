// One logged-in client: relays its messages to a backend taken from the pool for the length of a transaction and
// relays the backend's replies back, forwarding raw byte ranges. It decodes only what pooling needs:
// ReadyForQuery (transaction boundaries), ParseComplete/CloseComplete (to hide the router's own re-prepares),
// ParameterStatus (session settings follow the client across backends) and ErrorResponse's SQLSTATE (metrics).
import type { Socket } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import type { RouterContext } from './router-context.js';
import type { LoggedIn } from './client-login.js';
import { noop, type BackendConnection } from '../pool/backend-connection.js';
import type { BackendPool } from '../pool/backend-pool.js';
import { FrameBuffer, frameLength, ProtocolViolation } from '../protocol/frame-buffer.js';
import * as msg from '../protocol/backend-messages.js';
import { readParse, buildParse, readBindStatement, replaceName, readTarget, buildCloseStatement, readBindParams, parseText, buildBind, readBindSections, parseTypes } from '../protocol/extended-query.js';
import { readCString } from '../protocol/frame-buffer.js';
import type { ShardPools } from '../pool/shard-pools.js';
import { decide, decidePlan, showRouteTarget, showRouteReply, showRouteQuery, refusalQuery } from './shard-routing.js';
import { scatter, fanOut, MultiShardError, type Extended } from './multi-shard.js';
import { roleWithVerifier } from './role-fanout.js';
import type { RoutePlan } from '../planner/shard-key.js';
import { PlanMemo } from './plan-memo.js';
import { startsWithShow, extendedShape, extendedReply, PARSE_COMPLETE_MSG } from './batch-shapes.js';

const Z = 0x5a, E = 0x45, S = 0x53, Q = 0x51, F = 0x46, P = 0x50, B = 0x42, D = 0x44, C = 0x43, X = 0x58;
const PARSE_COMPLETE = 0x31, CLOSE_COMPLETE = 0x33, TX_IDLE = 0x49;
/** Replies that prove the server did nothing with a transaction and will not soon: shutdown, crash restart, standby. */
const NOT_NOW = new Set(['57P01', '57P02', '57P03', '25006']);
/** Behind a read-only router every server is a standby: 25006 is the answer to the client's write, passed on as is. */
const NOT_NOW_READ_ONLY = new Set(['57P01', '57P02', '57P03']);
const MAX_REPLAY_BYTES = 256 * 1024;
const MAX_REPLAYS = 5;
/** ParseComplete, BindComplete, CloseComplete, ParameterDescription, NoData, RowDescription, ParameterStatus, Notice. */
const NO_EFFECT_REPLIES = new Set([0x31, 0x32, 0x33, 0x74, 0x6e, 0x54, 0x53, 0x4e]);
type ParseInfoLike = { name: string; tail: Buffer };

/** A reply the router expects for a ParseComplete/CloseComplete-producing message it sent, in send order. */
interface Expected { kind: number; drop: boolean; global: string | null; zSeq: number }
interface ClientStatement { global: string; tail: Buffer }

export class ClientSession {
  private readonly socket: Socket;
  private readonly pools: ShardPools;
  /** The pool of the shard the current (or next) transaction runs on. */
  private pool: BackendPool;
  private shard = '';
  /** Sharded mode: a BEGIN answered by the router, replayed on the shard the first keyed statement picks. */
  private deferredBegin: Buffer | null = null;
  /** Sharded mode: a statement failed before the deferred transaction reached a shard. */
  private deferredFailed = false;
  private readonly wanted: Map<string, string>;
  private backend: BackendConnection | null = null;
  private acquiring = false;
  private closed = false;
  private readonly inFrames = new FrameBuffer();
  private readonly outFrames = new FrameBuffer();
  /** Complete client frames that arrived while no backend was linked. */
  private queued: Buffer[] = [];
  /** Client ReadyForQuery-producing messages (Query, Sync, FunctionCall) not yet answered. */
  private pending = 0;
  /** ReadyForQuery-producing messages sent to / answered by the linked backend (the router's own included). */
  private zSent = 0;
  private zDone = 0;
  /** Replies of the router's own SET/RESET queries, swallowed up to and including their ReadyForQuery. */
  private swallow = 0;
  private swallowedError: Buffer | null = null;
  private readonly expected: Expected[] = [];
  private txStatus = TX_IDLE;
  private readonly statements = new Map<string, ClientStatement>();
  private readonly cancelKey: { processId: number; secretKey: number };
  /** Extended-protocol messages sent since the last Sync: their replies are still due, so the backend stays. */
  private unsynced = false;
  private backendPaused = false;
  private clientPaused = false;
  /**
   * Everything sent to the linked backend since it was taken, kept until the first byte of its reply reaches the
   * client: if that reply says the server cannot take work (shutdown, standby), nothing ran, and the same bytes are
   * replayed on the backend the pool gives once the shard is available again (switchover buffering).
   */
  private replay: Buffer[] | null = null;
  private replayBytes = 0;
  private replays = 0;
  /** The deferred BEGIN the current backend got, for a replay. */
  private txBegin: Buffer | null = null;
  /** Settings noted from a reply that may still be replayed (a config reload reports default_transaction_read_only before the refusal). */
  private readonly replayNoted: [string, string | undefined][] = [];
  private readonly held: Buffer[] = [];
  /** Sharded mode: extended messages that do not decide a shard yet, waiting for the ones that do. */
  private undecided: Buffer | null = null;
  /** This shard's query counter (metrics), a plain number bumped per ReadyForQuery. */
  private shardCell: { n: number } = { n: 0 };
  /** Sharded mode: plans of this client's recent extended-protocol statements, by Parse bytes. */
  private readonly plans = new PlanMemo();

  constructor(private readonly ctx: RouterContext, li: LoggedIn) {
    this.socket = li.socket;
    this.pools = li.pools;
    this.pool = li.pools.default;
    this.wanted = li.wanted;
    this.cancelKey = ctx.registerCancelKey({ cancelRunning: () => this.backend?.cancel() });
    ctx.metrics.clients.inc();
    this.greet();
    this.socket.on('data', (c: Buffer) => this.onClientData(c));
    this.socket.on('error', () => this.close());
    this.socket.on('close', () => this.close());
    this.socket.on('drain', () => { if (this.backendPaused && this.backend) { this.backendPaused = false; this.backend.socket.resume(); } });
    if (li.rest.length) this.onClientData(li.rest);
  }

  /** AuthenticationOk, the server's parameters (with the client's own settings), BackendKeyData, ReadyForQuery. */
  private greet(): void {
    const params = new Map(this.pool.serverParams ?? []);
    for (const [k, v] of this.wanted) if (params.has(k)) params.set(k, v);
    this.socket.cork();
    this.socket.write(msg.authenticationOk());
    for (const [k, v] of params) this.socket.write(msg.parameterStatus(k, v));
    this.socket.write(msg.backendKeyData(this.cancelKey.processId, this.cancelKey.secretKey));
    this.socket.write(msg.readyForQuery('I'));
    this.socket.uncork();
  }

  // ---- client → backend ----

  private onClientData(chunk: Buffer): void {
    let data: Buffer | null;
    try { data = this.inFrames.take(chunk); } catch (e) { this.fail(e as Error); return; }
    if (!data) return;
    let end = 0;
    try {
      while (data.length - end >= 5) {
        const next = end + 1 + frameLength(data, end);
        if (next > data.length) break;
        end = next;
      }
    } catch (e) { this.fail(e as Error); return; }
    this.inFrames.keep(data, end);
    if (end === 0) return;
    this.dispatch(end === data.length ? data : data.subarray(0, end));
  }

  /** Complete client frames: to the linked backend, or to the shard (or shards) the first statement picks. */
  private dispatch(frames: Buffer): void {
    if (this.backend) { this.relayToBackend(frames); return; }
    if (this.undecided) { frames = Buffer.concat([this.undecided, frames]); this.undecided = null; }
    if (!this.queued.length && frames[0] === X) { this.close(); return; }
    if (!this.acquiring && !this.queued.length) {
      const shard = this.chooseShard(frames);
      if (shard === null) return;
      this.shard = shard;
      this.pool = this.pools.get(shard);
      const idle = this.pool.tryAcquire();
      if (idle) { this.attach(idle); this.relayToBackend(frames); return; }
    }
    this.queued.push(frames);
    this.link();
  }

  /** Takes a backend for the next transaction; the client is paused meanwhile (its bytes wait in `queued`). */
  private link(): void {
    if (this.acquiring || this.closed) return;
    this.acquiring = true;
    this.socket.pause();
    this.pool.acquire().then((b) => {
      this.acquiring = false;
      if (this.closed) { this.pool.release(b); return; }
      this.attach(b);
      this.socket.resume();
      const q = this.queued;
      this.queued = [];
      for (const frames of q) if (this.backend) this.relayToBackend(frames);
    }, (e: Error) => {
      this.acquiring = false;
      this.fatal((e as { sqlstate?: string }).sqlstate ?? '08006', `could not get a server connection: ${e.message}`);
    });
  }

  private attach(b: BackendConnection): void {
    this.backend = b;
    // A released backend left no partial frame behind (else it was discarded), so the buffer is reused as is.
    this.zSent = this.zDone = 0;
    this.expected.length = 0;
    this.txStatus = TX_IDLE;
    b.onData = this.onBackendDataBound;
    b.onClose = this.backendLostBound;
    b.onDrain = this.resumeClient;
    this.replay = [];
    this.replayBytes = 0;
    this.txBegin = this.deferredBegin;
    if (this.ctx.sharding) this.shardCell = this.ctx.metrics.shardCell(this.shard);
    this.syncSettings(b);
    if (this.deferredBegin) {
      b.socket.write(this.deferredBegin);
      this.deferredBegin = null;
      this.swallow++;
      this.zSent++;
    }
  }

  private readonly onBackendDataBound = (c: Buffer) => this.onBackendData(c);
  private readonly backendLostBound = (reason: string) => this.backendLost(reason);
  private readonly resumeClient = () => { if (this.clientPaused) { this.clientPaused = false; this.socket.resume(); } };

  /** Applies the client's settings to a backend that last served someone else: one SET/RESET query, swallowed. */
  private syncSettings(b: BackendConnection): void {
    const sql = this.settingsSql(b);
    if (!sql) return;
    this.swallow++;
    this.zSent++;
    b.socket.write(serialize.query(sql));
  }

  /** The SET/RESET text that gives a backend this client's settings, or null when it has them already. */
  private settingsSql(b: BackendConnection): string | null {
    // Allocates nothing in the common case (the backend already has every setting): this runs at every link.
    let sql: string[] | null = null;
    for (const [k, v] of this.wanted) {
      if (b.params.get(k) !== v) { (sql ??= []).push(`SET ${k} TO ${pg.escapeLiteral(v)}`); b.params.set(k, v); b.clientSet.add(k); }
    }
    for (const k of b.clientSet) {
      if (!this.wanted.has(k)) { (sql ??= []).push(`RESET ${k}`); b.clientSet.delete(k); b.params.delete(k); }
    }
    return sql ? sql.join('; ') : null;
  }

  private relayToBackend(data: Buffer): void {
    const b = this.backend!;
    if (this.replay) {
      this.replayBytes += data.length;
      // No copy: every socket read is its own buffer and nothing writes into it (frame-buffer.ts forwards slices too).
      if (this.replayBytes > MAX_REPLAY_BYTES) this.releaseHeld(); else this.replay.push(data);
    }
    const out = b.socket;
    // Corked only when the batch is cut into several writes; the common batch goes out whole in one write.
    let corked = false;
    const put = (buf: Buffer) => { if (!corked) { out.cork(); corked = true; } out.write(buf); };
    let run = 0;
    let off = 0;
    try {
      while (off < data.length) {
        const type = data[off]!;
        const end = off + 1 + data.readUInt32BE(off + 1);
        switch (type) {
          case Q: {
            this.pending++; this.zSent++;
            if (!this.ctx.sharding && !startsWithShow(data, off + 5, end)) break;
            const sub = this.substituteQuery(readCString(data, off + 5, end)[0]);
            if (sub === null) break;
            if (off > run) put(data.subarray(run, off));
            run = end;
            put(serialize.query(sub));
            break;
          }
          case F:
            this.pending++; this.zSent++;
            break;
          case S:
            this.pending++; this.zSent++; this.unsynced = false;
            break;
          case 0x45 /* Execute */:
            this.unsynced = true;
            break;
          case 0x48 /* Flush */:
            // The client waits for replies before its Sync: nothing may be held back from it.
            this.unsynced = true;
            this.releaseHeld();
            break;
          case P: {
            this.unsynced = true;
            const p = readParse(data, off, end);
            if (p.name === '') { this.expect(PARSE_COMPLETE, false, null); break; }
            if (off > run) put(data.subarray(run, off));
            run = end;
            const global = this.ctx.statements.nameFor(p.tail);
            this.statements.set(p.name, { global, tail: Buffer.from(p.tail) });
            if (b.prepared.has(global)) { put(buildCloseStatement(global)); this.expect(CLOSE_COMPLETE, true, null); }
            put(buildParse(global, p.tail));
            b.prepared.add(global);
            this.expect(PARSE_COMPLETE, false, global);
            break;
          }
          case B: {
            this.unsynced = true;
            if (this.ctx.sharding && this.refuseBind(b, data, off, end, run)) { run = end; break; }
            const st = readBindStatement(data, off, end);
            const cs = st.name === '' ? undefined : this.statements.get(st.name);
            if (!cs) break;
            if (off > run) put(data.subarray(run, off));
            run = end;
            this.ensurePrepared(b, cs);
            put(replaceName(data, off, end, st.start, st.next, cs.global));
            break;
          }
          case D: case C: {
            this.unsynced = true;
            const t = readTarget(data, off, end);
            if (type === C) this.expect(CLOSE_COMPLETE, false, null);
            if (t.kind !== S || t.name === '') break;
            const cs = this.statements.get(t.name);
            if (!cs) break;
            if (off > run) put(data.subarray(run, off));
            run = end;
            if (type === C) {
              this.statements.delete(t.name);
              b.prepared.delete(cs.global);
            } else {
              this.ensurePrepared(b, cs);
            }
            put(replaceName(data, off, end, t.start, t.next, cs.global));
            break;
          }
          case X:
            if (off > run) put(data.subarray(run, off));
            if (corked) out.uncork();
            this.close();
            return;
        }
        off = end;
      }
    } catch (e) {
      if (corked) out.uncork();
      this.fail(e as Error);
      return;
    }
    const ok = out.write(run === 0 ? data : data.subarray(run));
    if (corked) out.uncork();
    if (!ok && !this.clientPaused) { this.clientPaused = true; this.socket.pause(); }
  }

  // ---- sharding ----

  /**
   * Picks the shard for a batch arriving with no backend linked, or answers it here and returns null. Unsharded
   * routers only answer SHOW pgop.route here. Sharded ones pick by the first Query or Bind with a sharding key.
   */
  private chooseShard(frames: Buffer): string | null {
    if (frames[0] === P && !this.deferredFailed && this.prepareLocally(frames)) return null;
    const r = this.ctx.sharding;
    const onlyQuery = frames[0] === Q && 1 + frames.readUInt32BE(1) === frames.length;
    if (onlyQuery) {
      // An unsharded router only answers SHOW pgop.route itself: other texts go by without becoming strings.
      if (!r && !startsWithShow(frames, 5, frames.length)) return '';
      const localStatus = () => (this.deferredFailed ? 'E' : this.deferredBegin ? 'T' : 'I');
      const sql = readCString(frames, 5, frames.length)[0];
      const show = showRouteTarget(sql);
      if (show !== null) { this.reply(showRouteReply(r, show), localStatus()); return null; }
      if (!r) return '';
      const d = decide(r, sql);
      const tx = d.plan.kind === 'unsharded' ? d.plan.tx : undefined;
      if (this.deferredFailed) {
        if (tx === 'commit' || tx === 'rollback') { this.deferredFailed = false; this.deferredBegin = null; this.reply(msg.commandComplete('ROLLBACK'), 'I'); return null; }
        this.reply(msg.errorResponse({ severity: 'ERROR', code: '25P02', message: 'current transaction is aborted, commands ignored until end of transaction block' }), 'E');
        return null;
      }
      if (tx === 'begin') { this.deferredBegin = Buffer.from(frames); this.reply(msg.commandComplete('BEGIN'), 'T'); return null; }
      if (this.deferredBegin && (tx === 'commit' || tx === 'rollback')) {
        this.deferredBegin = null;
        this.reply(msg.commandComplete(tx === 'commit' ? 'COMMIT' : 'ROLLBACK'), 'I');
        return null;
      }
      this.countRoute(d.plan.kind);
      if (d.plan.kind === 'fanout' || (d.plan.kind === 'scatter' && d.plan.select)) {
        if (this.deferredBegin) return this.shardOr(null, `${d.plan.reason}, which is not supported inside a transaction block yet (autocommit only until 2PC exists)`, frames);
        this.runOnEveryShard(d.plan, sql);
        return null;
      }
      return this.shardOr(d.shard, d.route.kind === 'none' ? d.route.reason : '', frames);
    }
    if (!r) return '';
    let off = 0;
    let parsed: Map<string, Buffer> | null = null;
    while (off < frames.length) {
      const type = frames[off]!;
      const end = off + 1 + frames.readUInt32BE(off + 1);
      if (type === Q) {
        const d = decide(r, readCString(frames, off + 5, end)[0]);
        return this.shardOr(d.shard, d.route.kind === 'none' ? d.route.reason : '', frames);
      }
      if (type === P) {
        const p = readParse(frames, off, end);
        (parsed ??= new Map()).set(p.name, p.tail);
      } else if (type === B) {
        const bp = readBindParams(frames, off, end);
        const tail = parsed?.get(bp.statement) ?? this.statements.get(bp.statement)?.tail;
        if (tail) {
          const d = decidePlan(r, this.plans.plan(r.plans, tail), bp.params);
          this.countRoute(d.plan.kind);
          if (d.plan.kind === 'fanout' || (d.plan.kind === 'scatter' && d.plan.select)) {
            const shape = extendedShape(frames);
            if (!shape) return this.shardOr(null, `${d.plan.reason}, which the router runs as one Parse/Bind/Describe portal/Execute/Sync at a time`, frames);
            if (this.deferredBegin) return this.shardOr(null, `${d.plan.reason}, which is not supported inside a transaction block yet (autocommit only until 2PC exists)`, frames);
            for (const [name, t] of parsed ?? []) if (name) this.statements.set(name, { global: this.ctx.statements.nameFor(t), tail: Buffer.from(t) });
            const sec = readBindSections(frames, off, end);
            const values = bp.params.map((v) => (typeof v === 'string' || v === null ? v : Buffer.from(v)));
            this.runOnEveryShard(d.plan, parseText(tail), { ext: { types: Buffer.from(parseTypes(tail)), params: Buffer.from(sec.params), resultFormats: sec.resultFormats, values }, shape });
            return null;
          }
          return this.shardOr(d.shard, d.route.kind === 'none' ? d.route.reason : '', frames);
        }
      }
      off = end;
    }
    // Parse/Describe without a Bind yet and nothing asking for replies (no Sync, no Flush): the statement that
    // decides the shard is still to come (pipelines arrive in pieces), so wait for it.
    let asks = false;
    for (let o = 0; o < frames.length; o += 1 + frames.readUInt32BE(o + 1)) if (frames[o] === S || frames[o] === 0x48) asks = true;
    if (!asks && frames.length < MAX_REPLAY_BYTES) { this.undecided = Buffer.from(frames); return null; }
    return r.defaultShard;
  }

  /**
   * A batch of only named Parse messages and one Sync (libpq's PQprepare) is answered here: the statement is
   * prepared on whichever backend later runs it. Holding a backend for it would let a client that prepares
   * synchronously while its own other connections hold every backend in open transactions wait forever
   * (pgbench -M prepared with more clients than backends). Errors in the text surface at the first Bind instead.
   */
  private prepareLocally(frames: Buffer): boolean {
    if (frames[5] === 0) return false; // the first Parse is of the unnamed statement: a statement to run now
    const names: ParseInfoLike[] = [];
    let off = 0;
    while (off < frames.length) {
      const type = frames[off]!;
      const end = off + 1 + frames.readUInt32BE(off + 1);
      if (type === P) {
        const p = readParse(frames, off, end);
        if (p.name === '') return false;
        names.push(p);
      } else if (type !== S || end !== frames.length) return false;
      off = end;
    }
    if (!names.length || frames[frames.length - 5] !== S) return false;
    for (const p of names) this.statements.set(p.name, { global: this.ctx.statements.nameFor(p.tail), tail: Buffer.from(p.tail) });
    this.socket.cork();
    for (let i = 0; i < names.length; i++) this.socket.write(PARSE_COMPLETE_MSG);
    this.socket.write(msg.readyForQuery(this.deferredBegin ? 'T' : 'I'));
    this.socket.uncork();
    return true;
  }

  private countRoute(kind: RoutePlan['kind']): void {
    this.ctx.metrics.route(kind === 'keyed' ? 'fast_path' : kind);
  }

  /**
   * Scatter-gather reads and fan-out statements: a backend from every shard's pool (taken in shard order, so two
   * such clients cannot hold each other's), the statement on each, the merged or checked reply to the client.
   * The client's further messages wait in `queued` meanwhile.
   */
  private runOnEveryShard(plan: RoutePlan & { kind: 'scatter' | 'fanout' }, sql: string, ext: { ext: Extended; shape: number[] } | null = null): void {
    this.acquiring = true;
    this.socket.pause();
    const def = this.ctx.sharding!.defaultShard;
    const pools = this.pools.all().slice().sort((a, b) => (a.shard === def ? -1 : b.shard === def ? 1 : a.shard < b.shard ? -1 : 1));
    const taken: { pool: BackendPool; b: BackendConnection }[] = [];
    const prelude = (b: BackendConnection) => this.settingsSql(b);
    const run = async (): Promise<Buffer[]> => {
      for (const pool of pools) taken.push({ pool, b: await pool.acquire() });
      const backends = taken.map((t) => t.b);
      if (plan.kind === 'scatter') return scatter(backends, plan.select!, prelude, ext?.ext ?? null);
      const rewrite = plan.what === 'role' && !ext ? () => roleWithVerifier(sql, (role) => this.ctx.roleVerifier(role)) : null;
      if (plan.what === 'role' && ext) throw new MultiShardError('CREATE/ALTER ROLE with a password must come as a simple query through the router (it copies the verifier between shards)');
      return fanOut(pools.map((p) => p.shard), backends, sql, prelude, rewrite, ext?.ext ?? null);
    };
    run().then((result) => {
      const frames = ext ? extendedReply(result, ext.shape) : result;
      for (const t of taken) t.pool.release(t.b);
      if (frames.some((f) => f[0] === E)) this.ctx.metrics.multiShardFailures.inc({ route: plan.kind });
      this.finishLocal(frames);
    }, (e: Error) => {
      for (const t of taken) t.pool.discard(t.b);
      this.ctx.metrics.multiShardFailures.inc({ route: plan.kind });
      this.finishLocal([msg.errorResponse({ severity: 'ERROR', code: (e as { sqlstate?: string }).sqlstate ?? '0A000', message: e.message })]);
    });
  }

  /** Ends a reply the router made itself, then handles what the client sent meanwhile. */
  private finishLocal(frames: Buffer[]): void {
    this.acquiring = false;
    if (this.closed) return;
    this.socket.cork();
    for (const f of frames) {
      if (f[0] === E) this.ctx.metrics.errors.inc({ sqlstate: msg.errorField(f, 5, f.length, 'C') ?? 'unknown' });
      this.socket.write(f);
    }
    this.socket.write(msg.readyForQuery('I'));
    this.socket.uncork();
    this.socket.resume();
    const q = this.queued;
    this.queued = [];
    for (const f of q) this.dispatch(f);
  }

  /** The shard, or a refusal for a statement that would need several shards in a way the router cannot do exactly. */
  private shardOr(shard: string | null, reason: string, frames: Buffer): string | null {
    if (shard !== null) return shard;
    const error = msg.errorResponse({ severity: 'ERROR', code: '0A000', message: `statement needs more than one shard, and the router cannot run it there exactly: ${reason}`,
      hint: 'add "<sharding column> = <value>" to the statement, or run it on each shard directly' });
    if (this.deferredBegin) { this.deferredBegin = null; this.deferredFailed = true; }
    // One ReadyForQuery per Query/Sync in the batch, as PostgreSQL would send after skipping to each Sync.
    let zs = 0;
    for (let off = 0; off < frames.length; off += 1 + frames.readUInt32BE(off + 1)) if (frames[off] === Q || frames[off] === S) zs++;
    const status = this.deferredFailed ? 'E' : 'I';
    this.socket.cork();
    this.socket.write(error);
    for (let i = 0; i < Math.max(zs, 1); i++) this.socket.write(msg.readyForQuery(status));
    this.socket.uncork();
    return null;
  }

  private reply(body: Buffer, status: 'I' | 'T' | 'E'): void {
    this.socket.cork();
    this.socket.write(body);
    this.socket.write(msg.readyForQuery(status));
    this.socket.uncork();
  }

  /** While linked: SHOW pgop.route, or a statement for another shard than the transaction's, become other SQL. */
  private substituteQuery(sql: string): string | null {
    const show = showRouteTarget(sql);
    if (show !== null) return showRouteQuery(this.ctx.sharding, show);
    const r = this.ctx.sharding;
    if (!r) return null;
    const d = decide(r, sql);
    if (d.shard === null) return refusalQuery(`statement needs more than one shard, which the router does not do inside a transaction block yet: ${d.route.kind === 'none' ? d.route.reason : ''}`);
    if (d.route.kind === 'shard' && d.shard !== this.shard) {
      return refusalQuery(`this transaction runs on shard ${this.shard}; the statement belongs to shard ${d.shard} (cross-shard transactions are not supported yet)`);
    }
    return null;
  }

  /** A Bind whose key belongs to another shard is replaced by one of a failing DO statement, into the same portal. */
  private refuseBind(b: BackendConnection, data: Buffer, off: number, end: number, run: number): boolean {
    const r = this.ctx.sharding!;
    const bp = readBindParams(data, off, end);
    const tail = bp.statement === '' ? null : this.statements.get(bp.statement)?.tail;
    if (!tail) return false;
    const d = decidePlan(r, this.plans.plan(r.plans, tail), bp.params);
    if (d.route.kind !== 'shard' || d.shard === this.shard) return false;
    const out = b.socket;
    if (off > run) out.write(data.subarray(run, off));
    out.write(buildParse('', Buffer.from(`${refusalQuery(`this transaction runs on shard ${this.shard}; the statement belongs to shard ${d.shard} (cross-shard transactions are not supported yet)`)}\0\0\0`, 'utf8')));
    this.expect(PARSE_COMPLETE, true, null);
    out.write(buildBind(bp.portal, ''));
    return true;
  }

  private ensurePrepared(b: BackendConnection, cs: ClientStatement): void {
    if (b.prepared.has(cs.global)) return;
    b.socket.write(buildParse(cs.global, cs.tail));
    b.prepared.add(cs.global);
    this.expect(PARSE_COMPLETE, true, cs.global);
  }

  private expect(kind: number, drop: boolean, global: string | null): void {
    this.expected.push({ kind, drop, global, zSeq: this.zSent });
  }

  // ---- backend → client ----

  private onBackendData(chunk: Buffer): void {
    const conn = this.backend;
    let data: Buffer | null;
    try { data = this.outFrames.take(chunk); } catch (e) { this.fail(e as Error); return; }
    if (!data) return;
    const client = this.socket;
    let run = 0;
    let off = 0;
    let sawIdle = false;
    // Corked only when the chunk goes out in pieces: the common reply (a chunk of whole frames, nothing dropped) is
    // one write of the chunk as it came.
    let corked = false;
    // While a replay is possible, replies without effects are held back, so a replay never shows them twice.
    const emit = (b: Buffer): boolean => {
      if (this.replay) { this.held.push(Buffer.from(b)); return true; }
      if (!corked) { client.cork(); corked = true; }
      return client.write(b);
    };
    try {
      while (data.length - off >= 5) {
        const end = off + 1 + frameLength(data, off);
        if (end > data.length) break;
        const type = data[off]!;
        if (this.replay) {
          if (type === E && this.replays < MAX_REPLAYS) {
            const state = msg.errorField(data, off + 5, end, 'C');
            if (state && (this.ctx.readOnly ? NOT_NOW_READ_ONLY : NOT_NOW).has(state)) {
              if (corked) client.uncork();
              this.replayElsewhere(`${state}: ${msg.errorField(data, off + 5, end, 'M') ?? ''}`);
              return;
            }
          }
          if (this.swallow === 0 && !NO_EFFECT_REPLIES.has(type)) {
            // The backend is running the transaction: replay is over. What was held (older) goes out first; this
            // chunk's own unsent part, data[run..], follows with the rest of the chunk, in the same write.
            if (this.held.length && !corked) { client.cork(); corked = true; }
            this.releaseHeld();
          }
        }
        if (this.swallow > 0) {
          if (off > run) emit(data.subarray(run, off));
          run = end;
          if (type === Z) { this.swallow--; this.zDone++; this.settle(); } else if (type === E) this.swallowedError = Buffer.from(data.subarray(off, end));
          else if (type === S) this.noteParameter(data, off, end, false);
          off = end;
          continue;
        }
        if (type === Z) {
          this.pending--; this.zDone++;
          this.shardCell.n++;
          this.txStatus = data[off + 5]!;
          this.ctx.metrics.query();
          if (this.expected.length) this.settle();
          sawIdle = this.txStatus === TX_IDLE && this.pending === 0;
        } else if (type === PARSE_COMPLETE || type === CLOSE_COMPLETE) {
          const x = this.expected.shift();
          if (x?.drop) { if (off > run) emit(data.subarray(run, off)); run = end; }
          if (x?.global && x.kind === PARSE_COMPLETE) x.global = null;
        } else if (type === E) {
          this.ctx.metrics.errors.inc({ sqlstate: msg.errorField(data, off + 5, end, 'C') ?? 'unknown' });
        } else if (type === S) {
          this.noteParameter(data, off, end, true);
        }
        off = end;
      }
    } catch (e) {
      if (corked) client.uncork();
      this.fail(e as Error);
      return;
    }
    let ok = true;
    if (off > run) {
      const rest = run === 0 && off === data.length ? data : data.subarray(run, off);
      if (this.replay) this.held.push(Buffer.from(rest)); else ok = client.write(rest);
    }
    this.outFrames.keep(data, off);
    if (corked) client.uncork();
    // The read buffer may take the next read only when every byte of it went out already (backend-reads.ts).
    if (off === data.length && client.writableLength === 0) conn?.reads.release();
    if (this.swallowedError && this.swallow === 0) { this.settingsRefused(); return; }
    if (sawIdle && this.swallow === 0 && this.pending === 0 && !this.unsynced && this.txStatus === TX_IDLE) this.unlink();
    else if (!ok && this.backend && !this.backendPaused) { this.backendPaused = true; this.backend.socket.pause(); }
  }

  /** Replay is no longer possible: replies held back go to the client now. */
  private releaseHeld(): void {
    this.replay = null;
    this.replayNoted.length = 0;
    if (!this.held.length) return;
    for (const b of this.held) this.socket.write(b);
    this.held.length = 0;
  }

  /** At a ReadyForQuery: replies for messages before it that never came were skipped after an error. */
  private settle(): void {
    const b = this.backend;
    while (this.expected.length && this.expected[0]!.zSeq < this.zDone) {
      const x = this.expected.shift()!;
      // A Parse that never completed did not prepare anything on this backend.
      if (x.global && b) b.prepared.delete(x.global);
    }
  }

  /** Settings reported by the server follow the client: the next backend gets them too. */
  private noteParameter(data: Buffer, off: number, end: number, byClient: boolean): void {
    const nul = data.indexOf(0, off + 5);
    const name = data.toString('utf8', off + 5, nul);
    const value = data.toString('utf8', nul + 1, end - 1);
    this.backend?.params.set(name, value);
    if (byClient) {
      if (this.replay) this.replayNoted.push([name, this.wanted.get(name)]);
      this.wanted.set(name, value);
      this.backend?.clientSet.add(name);
    }
  }

  private unlink(): void {
    const b = this.backend;
    if (!b) return;
    this.backend = null;
    b.onDrain = noop;
    if (this.backendPaused) { this.backendPaused = false; b.socket.resume(); }
    this.ctx.metrics.transaction();
    this.replays = 0;
    if (this.outFrames.pending || this.expected.length) {
      this.outFrames.clear();
      this.expected.length = 0;
      this.pool.discard(b);
    } else this.pool.release(b);
    if (this.clientPaused) { this.clientPaused = false; this.socket.resume(); }
  }

  private settingsRefused(): void {
    const err = this.swallowedError!;
    this.swallowedError = null;
    this.socket.write(err);
    this.close();
  }

  private backendLost(reason: string): void {
    if (this.closed) return;
    const b = this.backend;
    this.backend = null;
    if (b) this.pool.discard(b);
    this.fatal('08006', `server connection lost: ${reason}`);
  }

  /** The backend refused the transaction before doing anything: hold it until the shard is back, then resend. */
  private replayElsewhere(reason: string): void {
    const frames = this.replay!;
    const b = this.backend!;
    this.replay = null;
    this.replays++;
    this.backend = null;
    b.onDrain = noop;
    this.pool.discard(b);
    this.pool.markUnavailable(reason);
    this.pending = 0; this.unsynced = false; this.swallow = 0; this.swallowedError = null;
    this.expected.length = 0; this.zSent = this.zDone = 0; this.backendPaused = false;
    this.outFrames.clear();
    this.held.length = 0;
    this.deferredBegin = this.txBegin;
    // What the refusing server reported is not the client's choice (nor the next server's state).
    for (const [name, prev] of this.replayNoted.reverse()) { if (prev === undefined) this.wanted.delete(name); else this.wanted.set(name, prev); }
    this.replayNoted.length = 0;
    this.queued = [...frames, ...this.queued];
    this.ctx.log.info({ shard: this.shard, reason }, 'backend refused a transaction before running it; replaying it when the shard is back');
    this.link();
  }

  cancelRunning(): void { this.backend?.cancel(); }

  // ---- ending ----

  private fail(e: Error): void {
    this.ctx.log.warn({ err: e.message, kind: e instanceof ProtocolViolation ? 'protocol' : 'internal' }, 'closing client connection');
    this.fatal('08P01', e.message);
  }

  private fatal(sqlstate: string, message: string): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(msg.errorResponse({ severity: 'FATAL', code: sqlstate, message }));
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ctx.metrics.clients.dec();
    this.ctx.forgetCancelKey(this.cancelKey.processId);
    const b = this.backend;
    this.backend = null;
    // Mid-transaction or mid-reply the backend's state is unknown: it is dropped, never handed to another client.
    if (b) this.pool.discard(b);
    this.socket.end();
    this.socket.destroySoon?.();
  }
}
