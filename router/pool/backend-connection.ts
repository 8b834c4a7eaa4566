// One server connection: TCP, startup, SCRAM with the client's recovered ClientKey, then raw bytes. Everything after
// login is handled by whoever holds the connection (the session), so this file only knows the login phase.
import type { Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { FrameBuffer, frameLength } from '../protocol/frame-buffer.js';
import { errorField } from '../protocol/backend-messages.js';
import { ScramClientWithKey } from '../auth/scram.js';
import { openBackendStream, BackendTlsError, type BackendTarget } from './backend-stream.js';
import { BackendReads } from './backend-reads.js';

export type { BackendTarget } from './backend-stream.js';
export interface BackendCredentials { user: string; database: string; clientKey: Buffer; serverKey: Buffer | null }

export class BackendLoginError extends Error {
  constructor(message: string, readonly sqlstate = '08006') { super(message); this.name = 'BackendLoginError'; }
}

let nextId = 0;
export const noop = (): void => undefined;

export class BackendConnection {
  readonly id = ++nextId;
  /** ParameterStatus values as last reported by the server, plus values the router SET on it. */
  readonly params = new Map<string, string>();
  /** Names of settings a client asked for (SET by the router), to RESET for the next client that did not. */
  readonly clientSet = new Set<string>();
  /** Router-global statement names prepared on this connection. */
  readonly prepared = new Set<string>();
  processId = 0;
  secretKey = 0;
  createdAt = Date.now();
  closed = false;

  /** Who receives the server's bytes: the pool while idle, a session while linked. Swapped, never re-subscribed. */
  onData: (chunk: Buffer) => void = () => undefined;
  onClose: (reason: string) => void = () => undefined;
  /** The linked session's "the server takes writes again" handler; swapped like onData (no listener churn per link). */
  onDrain: () => void = noop;
  /** The pool's handlers for this connection, made once so hand-backs allocate nothing. */
  idleOnData: (chunk: Buffer) => void = () => undefined;
  idleOnClose: (reason: string) => void = () => undefined;

  private constructor(readonly socket: Socket, readonly target: BackendTarget, readonly reads: BackendReads) {}

  private attach(): void {
    this.reads.deliver = (c: Buffer) => this.onData(c);
    this.socket.on('drain', () => this.onDrain());
    this.socket.on('error', (e) => { this.socket.destroy(); this.closeWith(e.message); });
    this.socket.on('close', () => this.closeWith('server closed the connection'));
  }

  private closeWith(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose(reason);
  }

  static open(target: BackendTarget, creds: BackendCredentials, timeoutMs = 10_000): Promise<BackendConnection> {
    return new Promise((resolve, reject) => {
      let socket: Socket | null = null;
      const reads = new BackendReads();
      const conn = (s: Socket) => new BackendConnection(s, target, reads);
      let made: BackendConnection | null = null;
      const frames = new FrameBuffer();
      let scram: ScramClientWithKey | null = null;
      let done = false;
      const fail = (e: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket?.destroy();
        reject(e);
      };
      const timer = setTimeout(() => fail(new BackendLoginError(`backend ${target.host}:${target.port} did not complete login in ${timeoutMs} ms`)), timeoutMs);
      const onError = (e: Error) => fail(new BackendLoginError(`backend ${target.host}:${target.port}: ${e.message}`));
      const onClose = () => fail(new BackendLoginError(`backend ${target.host}:${target.port} closed the connection during login`));
      openBackendStream(target, reads).then((s) => {
        if (done) { s.destroy(); return; }
        socket = s;
        made = conn(s);
        s.on('error', onError);
        s.on('close', onClose);
        reads.deliver = onData;
        s.write(serialize.startup({ user: creds.user, database: creds.database }));
      }, (e: Error) => fail(e instanceof BackendTlsError ? new BackendLoginError(e.message, '08006') : new BackendLoginError(`backend ${target.host}:${target.port}: ${e.message}`)));
      const onData = (chunk: Buffer) => {
        try {
          const data = frames.take(chunk);
          if (!data) return;
          let off = 0;
          while (data.length - off >= 5) {
            const end = off + 1 + frameLength(data, off);
            if (end > data.length) break;
            const type = data[off]!;
            const body = off + 5;
            if (type === 0x52 /* R */) {
              const code = data.readUInt32BE(body);
              if (code === 10) {
                const mechs = data.toString('utf8', body + 4, end).split('\0');
                if (!mechs.includes('SCRAM-SHA-256')) throw new BackendLoginError(`backend offers ${mechs.filter(Boolean).join(', ')}; the router needs SCRAM-SHA-256`, '28000');
                scram = new ScramClientWithKey(creds.clientKey, creds.serverKey);
                socket!.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.first()));
              } else if (code === 11 && scram) {
                socket!.write(serialize.sendSCRAMClientFinalMessage(scram.final(data.toString('utf8', body + 4, end))));
              } else if (code === 12 && scram) {
                scram.verify(data.toString('utf8', body + 4, end));
              } else if (code !== 0) {
                throw new BackendLoginError(`backend asks for authentication method ${code}; set scram-sha-256 for this role in pg_hba.conf (the router holds no passwords)`, '28000');
              }
            } else if (type === 0x53 /* S */) {
              const nul = data.indexOf(0, body);
              made!.params.set(data.toString('utf8', body, nul), data.toString('utf8', nul + 1, end - 1));
            } else if (type === 0x4b /* K */) {
              made!.processId = data.readUInt32BE(body);
              made!.secretKey = data.readUInt32BE(body + 4);
            } else if (type === 0x45 /* E */) {
              throw new BackendLoginError(errorField(data, body, end, 'M') ?? 'backend refused the login', errorField(data, body, end, 'C') ?? '08006');
            } else if (type === 0x5a /* Z */) {
              done = true;
              clearTimeout(timer);
              // Only this login's listeners: a TLS socket has its own internal ones.
              socket!.off('error', onError); socket!.off('close', onClose);
              made!.attach();
              if (end !== data.length) throw new BackendLoginError('backend sent data after ReadyForQuery during login');
              resolve(made!);
              return;
            }
            off = end;
          }
          frames.keep(data, off);
        } catch (e) {
          fail(e instanceof BackendLoginError ? e : new BackendLoginError(`backend login failed: ${(e as Error).message}`));
        }
      };
    });
  }

  close(): void {
    if (!this.socket.destroyed) this.socket.end(serialize.end());
    this.closed = true;
  }

  /** Sends a CancelRequest for whatever this connection is running, on a fresh connection (protocol rule). */
  cancel(): void {
    const b = Buffer.allocUnsafe(16);
    b.writeUInt32BE(16, 0); b.writeUInt32BE(80877102, 4); b.writeUInt32BE(this.processId >>> 0, 8); b.writeUInt32BE(this.secretKey >>> 0, 12);
    // Over TLS too when the backend has it: the cancel key is a secret.
    openBackendStream(this.target).then((s) => { s.on('error', () => s.destroy()); s.end(b); }, () => undefined);
  }
}
