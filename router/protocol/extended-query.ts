// Reading and re-naming the statement in Parse / Bind / Describe / Close (PostgreSQL docs, "Message Formats"), which
// is all transaction pooling needs to move named prepared statements between backends. `off` is the frame start
// (the type byte); the body begins at off + 5.
import { readCString } from './frame-buffer.js';

export interface ParseInfo {
  name: string;
  /** Everything after the name (query text, parameter types): identical bodies mean the same statement. */
  tail: Buffer;
}

export function readParse(data: Buffer, off: number, end: number): ParseInfo {
  const [name, next] = readCString(data, off + 5, end);
  return { name, tail: data.subarray(next, end) };
}

/** Parse (P) naming `name`, with the given tail (query text + parameter types). */
export function buildParse(name: string, tail: Buffer): Buffer {
  const n = Buffer.byteLength(name);
  const out = Buffer.allocUnsafe(5 + n + 1 + tail.length);
  out[0] = 0x50;
  out.writeUInt32BE(4 + n + 1 + tail.length, 1);
  out.write(name, 5, 'utf8');
  out[5 + n] = 0;
  tail.copy(out, 6 + n);
  return out;
}

/** Bind (B): portal name, then statement name, then the rest. Returns the statement name and where it sits. */
export function readBindStatement(data: Buffer, off: number, end: number): { name: string; start: number; next: number } {
  const [, afterPortal] = readCString(data, off + 5, end);
  const [name, next] = readCString(data, afterPortal, end);
  return { name, start: afterPortal, next };
}

/** Copy of the frame with bytes [start, next) (a NUL-terminated name) replaced by `name`. */
export function replaceName(data: Buffer, off: number, end: number, start: number, next: number, name: string): Buffer {
  const n = Buffer.byteLength(name);
  const len = (end - off) - (next - start) + n + 1;
  const out = Buffer.allocUnsafe(len);
  data.copy(out, 0, off, start);
  out.writeUInt32BE(len - 1, 1);
  out.write(name, start - off, 'utf8');
  out[start - off + n] = 0;
  data.copy(out, start - off + n + 1, next, end);
  return out;
}

/** Describe (D) or Close (C): 'S' statement or 'P' portal, then the name. */
export function readTarget(data: Buffer, off: number, end: number): { kind: number; name: string; start: number; next: number } {
  const kind = data[off + 5]!;
  const [name, next] = readCString(data, off + 6, end);
  return { kind, name, start: off + 6, next };
}

/** Close (C) of statement `name`. */
export function buildCloseStatement(name: string): Buffer {
  const n = Buffer.byteLength(name);
  const out = Buffer.allocUnsafe(5 + 1 + n + 1);
  out[0] = 0x43;
  out.writeUInt32BE(4 + 1 + n + 1, 1);
  out[5] = 0x53;
  out.write(name, 6, 'utf8');
  out[6 + n] = 0;
  return out;
}

/** Bind (B) parameters as the client sent them: text-format values as strings, binary ones as bytes. */
export function readBindParams(data: Buffer, off: number, end: number): { portal: string; statement: string; params: (string | Buffer | null)[] } {
  const [portal, afterPortal] = readCString(data, off + 5, end);
  const [statement, afterName] = readCString(data, afterPortal, end);
  let p = afterName;
  const nFormats = data.readUInt16BE(p); p += 2;
  const formats: number[] = [];
  for (let i = 0; i < nFormats; i++) { formats.push(data.readUInt16BE(p)); p += 2; }
  const nParams = data.readUInt16BE(p); p += 2;
  const params: (string | Buffer | null)[] = [];
  for (let i = 0; i < nParams; i++) {
    const len = data.readInt32BE(p); p += 4;
    if (len < 0) { params.push(null); continue; }
    const binary = (nFormats === 1 ? formats[0] : formats[i]) === 1;
    params.push(binary ? data.subarray(p, p + len) : data.toString('utf8', p, p + len));
    p += len;
  }
  return { portal, statement, params };
}

/** The query text at the start of a Parse tail. */
export const parseText = (tail: Buffer) => tail.toString('utf8', 0, Math.max(0, tail.indexOf(0)));

/** Bind (B) of `statement` into `portal` with no parameters and default result formats. */
export function buildBind(portal: string, statement: string): Buffer {
  const body = Buffer.concat([Buffer.from(`${portal}\0${statement}\0`, 'utf8'), Buffer.from([0, 0, 0, 0, 0, 0])]);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0x42;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** A Bind's parameter section (formats, count, values) verbatim, and its result format codes. */
export function readBindSections(data: Buffer, off: number, end: number): { params: Buffer; resultFormats: number[] } {
  const [, afterPortal] = readCString(data, off + 5, end);
  const [, afterName] = readCString(data, afterPortal, end);
  let p = afterName;
  const nFormats = data.readUInt16BE(p); p += 2 + 2 * nFormats;
  const nParams = data.readUInt16BE(p); p += 2;
  for (let i = 0; i < nParams; i++) { const len = data.readInt32BE(p); p += 4 + Math.max(0, len); }
  const params = data.subarray(afterName, p);
  const nResults = data.readUInt16BE(p); p += 2;
  const resultFormats: number[] = [];
  for (let i = 0; i < nResults; i++) { resultFormats.push(data.readUInt16BE(p)); p += 2; }
  return { params, resultFormats };
}

/** Bind (B) of the unnamed statement into the unnamed portal with a verbatim parameter section. */
export function buildBindRaw(params: Buffer, resultFormats: readonly number[]): Buffer {
  const len = 4 + 2 + params.length + 2 + 2 * resultFormats.length;
  const out = Buffer.allocUnsafe(1 + len);
  out[0] = 0x42;
  out.writeUInt32BE(len, 1);
  out[5] = 0; out[6] = 0;
  params.copy(out, 7);
  let p = 7 + params.length;
  out.writeUInt16BE(resultFormats.length, p); p += 2;
  for (const f of resultFormats) { out.writeUInt16BE(f, p); p += 2; }
  return out;
}

/** Text-format parameters (count 0 formats = all text), for the router's own statements. */
export function textParams(values: readonly (string | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0]), Buffer.allocUnsafe(2)];
  parts[1]!.writeUInt16BE(values.length);
  for (const v of values) {
    const len = Buffer.allocUnsafe(4);
    if (v === null) { len.writeInt32BE(-1); parts.push(len); continue; }
    const b = Buffer.from(v, 'utf8');
    len.writeInt32BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** The parameter-type part of a Parse tail (after the query text). */
export const parseTypes = (tail: Buffer) => tail.subarray(tail.indexOf(0) + 1);

/** A Parse tail for `text` with the given parameter-type part. */
export const parseTail = (text: string, types: Buffer) => Buffer.concat([Buffer.from(`${text}\0`, 'utf8'), types]);
