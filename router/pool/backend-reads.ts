// Where a backend socket's bytes go. A plain TCP backend is read with net's `onread` into one buffer that is reused
// from read to read, which spares the allocation and the stream machinery of a 'data' event per read (the largest
// part of the router's CPU per statement is Node's own per-read and per-write work; bench/router measures it).
// Reuse is opt-in per read: only a reader that says it kept nothing of the chunk (no partial frame, no write still
// queued) lets the next read overwrite it; any other reader gets a fresh buffer, as with 'data' events.

import type { OnReadOpts } from 'node:net';

/** Large enough for a typical batch of replies in one read; libuv reads again at once when a read fills it. */
const READ_BUFFER_BYTES = 64 * 1024;

export class BackendReads {
  /** The current reader: the login, the pool while idle, a session while linked. */
  deliver: (chunk: Buffer) => void = () => undefined;
  private buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private reusable = false;

  /** Called by the reader during `deliver`: nothing of the chunk it was given outlives this call. */
  release(): void { this.reusable = true; }

  /** net.connect's `onread` option, or null for a stream read with 'data' events (TLS), where nothing is reused. */
  onread(): OnReadOpts {
    return {
      buffer: () => {
        if (!this.reusable) this.buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
        this.reusable = false;
        return this.buffer;
      },
      callback: (n, buf) => { this.deliver((buf as Buffer).subarray(0, n)); return true; },
    };
  }
}
