// The untyped first packet: int32 length, int32 code, then body (PostgreSQL docs, "Message Formats":
// StartupMessage 196608 = 3.0, CancelRequest 80877102, SSLRequest 80877103, GSSENCRequest 80877104).
import { ProtocolViolation } from './frame-buffer.js';

export const SSL_REQUEST = 80877103;
export const GSSENC_REQUEST = 80877104;
export const CANCEL_REQUEST = 80877102;
export const PROTOCOL_3_0 = 196608;
/** PostgreSQL's MAX_STARTUP_PACKET_LENGTH. */
const MAX_STARTUP = 10000;

export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; processId: number; secretKey: number }
  | { kind: 'startup'; params: Map<string, string> };

/** Returns the packet and its byte length, or null if more bytes are needed. */
export function readStartupPacket(data: Buffer): { packet: StartupPacket; length: number } | null {
  if (data.length < 8) return null;
  const len = data.readUInt32BE(0);
  if (len < 8 || len > MAX_STARTUP) throw new ProtocolViolation(`invalid startup packet length ${len}`);
  if (data.length < len) return null;
  const code = data.readUInt32BE(4);
  if (code === SSL_REQUEST && len === 8) return { packet: { kind: 'ssl' }, length: len };
  if (code === GSSENC_REQUEST && len === 8) return { packet: { kind: 'gssenc' }, length: len };
  if (code === CANCEL_REQUEST && len === 16) {
    return { packet: { kind: 'cancel', processId: data.readUInt32BE(8), secretKey: data.readUInt32BE(12) }, length: len };
  }
  if (code >> 16 !== 3) {
    throw new ProtocolViolation(`unsupported frontend protocol ${code >> 16}.${code & 0xffff}: server supports 3.0`);
  }
  const params = new Map<string, string>();
  let off = 8;
  while (off < len) {
    const kEnd = data.indexOf(0, off);
    if (kEnd < 0 || kEnd >= len) throw new ProtocolViolation('startup packet is not terminated');
    if (kEnd === off) break;
    const vEnd = data.indexOf(0, kEnd + 1);
    if (vEnd < 0 || vEnd >= len) throw new ProtocolViolation('startup packet has a parameter without a value');
    params.set(data.toString('utf8', off, kEnd), data.toString('utf8', kEnd + 1, vEnd));
    off = vEnd + 1;
  }
  return { packet: { kind: 'startup', params }, length: len };
}
