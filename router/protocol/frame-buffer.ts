// Message framing for protocol v3 after startup: 1 type byte + int32 length (which counts itself, not the type byte).
// PostgreSQL docs, "Frontend/Backend Protocol > Message Formats". The buffer only joins chunks when a frame spans
// them; the common case (a chunk holding whole frames) is scanned in place and forwarded as slices, never copied.

/** PostgreSQL's own limit for most messages is 1 GB (PQ_LARGE_MESSAGE_LIMIT); anything larger is a broken stream. */
export const MAX_FRAME = 0x40000000;

export class ProtocolViolation extends Error {
  constructor(message: string) { super(message); this.name = 'ProtocolViolation'; }
}

export class FrameBuffer {
  private parts: Buffer[] = [];
  private size = 0;
  private need = 5;

  /** Joins a chunk with any leftover; returns the bytes to scan, or null while not even one frame is complete. */
  take(chunk: Buffer): Buffer | null {
    if (this.size === 0) {
      if (chunk.length >= 5) return chunk;
      this.parts.push(chunk);
      this.size = chunk.length;
      this.need = 5;
      return null;
    }
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size < this.need) return null;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return data;
  }

  /** Keeps data[from..] (an incomplete frame) for the next chunk. */
  keep(data: Buffer, from: number): void {
    if (from >= data.length) return;
    const rest = data.subarray(from);
    this.parts.push(rest);
    this.size = rest.length;
    this.need = rest.length >= 5 ? 1 + rest.readUInt32BE(1) : 5;
  }

  get pending(): number { return this.size; }

  clear(): void { this.parts = []; this.size = 0; this.need = 5; }
}

/** Length field of the frame at `off` (already known to have 5 bytes), checked. */
export function frameLength(data: Buffer, off: number): number {
  const len = data.readUInt32BE(off + 1);
  if (len < 4 || len > MAX_FRAME) throw new ProtocolViolation(`invalid message length ${len} for message type ${JSON.stringify(String.fromCharCode(data[off]!))}`);
  return len;
}

/** Reads a NUL-terminated string at `off`; returns the string and the offset after the NUL. */
export function readCString(data: Buffer, off: number, end: number): [string, number] {
  const nul = data.indexOf(0, off);
  if (nul < 0 || nul >= end) throw new ProtocolViolation('unterminated string in message');
  return [data.toString('utf8', off, nul), nul + 1];
}
