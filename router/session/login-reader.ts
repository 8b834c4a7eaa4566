// Reads the login phase of a client connection as whole packets (startup packet, then typed messages), with a
// byte limit so a client cannot park megabytes in the router before authenticating.
import type { Socket } from 'node:net';
import { readStartupPacket, type StartupPacket } from '../protocol/startup.js';
import { ProtocolViolation } from '../protocol/frame-buffer.js';

const MAX_LOGIN_MESSAGE = 64 * 1024;

export class LoginReader {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended: Error | null = null;
  private readonly onData = (c: Buffer) => { this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c; this.kick(); };
  private readonly onEnd = () => { this.ended = new ProtocolViolation('client closed the connection during login'); this.kick(); };

  constructor(private socket: Socket) { this.listen(); }

  private listen(): void {
    this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('close', this.onEnd);
  }

  private kick(): void { const w = this.wake; this.wake = null; w?.(); }

  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    await new Promise<void>((r) => { this.wake = r; });
    if (this.ended && this.buf.length === 0) throw this.ended;
  }

  /** Bytes received but not consumed (must be none after SSLRequest: CVE-2021-23214-style injection). */
  get buffered(): number { return this.buf.length; }

  async startup(): Promise<StartupPacket> {
    for (;;) {
      const r = readStartupPacket(this.buf);
      if (r) { this.buf = this.buf.subarray(r.length); return r.packet; }
      await this.more();
    }
  }

  async message(): Promise<{ type: number; body: Buffer }> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readUInt32BE(1);
        if (len < 4 || len > MAX_LOGIN_MESSAGE) throw new ProtocolViolation(`invalid login message length ${len}`);
        if (this.buf.length >= 1 + len) {
          const type = this.buf[0]!;
          const body = this.buf.subarray(5, 1 + len);
          this.buf = this.buf.subarray(1 + len);
          return { type, body };
        }
      }
      await this.more();
    }
  }

  /** Switches to another socket (after TLS upgrade). */
  switchTo(socket: Socket): void {
    this.detach();
    this.socket = socket;
    this.listen();
  }

  /** Stops listening and returns what is left, for the relay to process first. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}
