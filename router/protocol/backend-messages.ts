// The few messages the router itself sends to clients (PostgreSQL docs, "Message Formats"). Everything else the
// client receives is the backend's own bytes, forwarded unchanged.

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int32 = (n: number) => { const b = Buffer.allocUnsafe(4); b.writeInt32BE(n); return b; };
const cstr = (s: string) => Buffer.from(`${s}\0`, 'utf8');

/** AuthenticationOk (R, 0). */
export const authenticationOk = () => message('R', int32(0));
/** AuthenticationSASL (R, 10) listing mechanisms, each NUL-terminated, then a final NUL. */
export const authenticationSasl = (mechanisms: string[]) => message('R', Buffer.concat([int32(10), ...mechanisms.map(cstr), Buffer.from([0])]));
/** AuthenticationSASLContinue (R, 11) with the server-first-message. */
export const authenticationSaslContinue = (data: string) => message('R', Buffer.concat([int32(11), Buffer.from(data, 'utf8')]));
/** AuthenticationSASLFinal (R, 12) with the server-final-message. */
export const authenticationSaslFinal = (data: string) => message('R', Buffer.concat([int32(12), Buffer.from(data, 'utf8')]));
/** ParameterStatus (S): name, value. */
export const parameterStatus = (name: string, value: string) => message('S', Buffer.concat([cstr(name), cstr(value)]));
/** BackendKeyData (K): process id, secret key. */
export const backendKeyData = (pid: number, secret: number) => {
  const b = Buffer.allocUnsafe(8); b.writeUInt32BE(pid >>> 0, 0); b.writeUInt32BE(secret >>> 0, 4); return message('K', b);
};
/** ReadyForQuery (Z) with the transaction status byte: I idle, T in a block, E failed block. */
export const readyForQuery = (status: 'I' | 'T' | 'E') => message('Z', Buffer.from(status, 'latin1'));

export interface ErrorFields { severity: 'ERROR' | 'FATAL' | 'WARNING' | 'NOTICE'; code: string; message: string; detail?: string; hint?: string }

/** ErrorResponse (E) or NoticeResponse (N): one-byte field codes (S, V, C, M, D, H), NUL-terminated values. */
export function errorResponse(f: ErrorFields, type: 'E' | 'N' = 'E'): Buffer {
  const fields: Buffer[] = [];
  const add = (code: string, v: string | undefined) => { if (v !== undefined) fields.push(Buffer.from(code, 'latin1'), cstr(v)); };
  add('S', f.severity); add('V', f.severity); add('C', f.code); add('M', f.message); add('D', f.detail); add('H', f.hint);
  return message(type, Buffer.concat([...fields, Buffer.from([0])]));
}

/** Field `code` (e.g. 'C' for SQLSTATE) of an ErrorResponse/NoticeResponse body in data[start..end). */
export function errorField(data: Buffer, start: number, end: number, code: string): string | undefined {
  const want = code.charCodeAt(0);
  let off = start;
  while (off < end && data[off] !== 0) {
    const t = data[off]!;
    const nul = data.indexOf(0, off + 1);
    if (nul < 0 || nul >= end) return undefined;
    if (t === want) return data.toString('utf8', off + 1, nul);
    off = nul + 1;
  }
  return undefined;
}

/** RowDescription (T) for text columns (type oid 25, text format). */
export function rowDescription(names: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([names.length >> 8, names.length & 0xff])];
  for (const n of names) {
    const meta = Buffer.alloc(18);
    meta.writeUInt32BE(0, 0); meta.writeUInt16BE(0, 4); meta.writeUInt32BE(25, 6); meta.writeInt16BE(-1, 10); meta.writeInt32BE(-1, 12); meta.writeUInt16BE(0, 16);
    parts.push(cstr(n), meta);
  }
  return message('T', Buffer.concat(parts));
}

/** DataRow (D) of text values (null = SQL NULL). */
export function dataRow(values: (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([values.length >> 8, values.length & 0xff])];
  for (const v of values) {
    if (v === null) { parts.push(int32(-1)); continue; }
    const b = Buffer.from(v, 'utf8');
    parts.push(int32(b.length), b);
  }
  return message('D', Buffer.concat(parts));
}

/** CommandComplete (C) with its tag ("SELECT 1", "BEGIN"). */
export const commandComplete = (tagText: string) => message('C', cstr(tagText));
