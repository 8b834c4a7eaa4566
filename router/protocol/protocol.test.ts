import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serialize } from 'pg-protocol';
import { FrameBuffer, frameLength, ProtocolViolation } from './frame-buffer.js';
import { readStartupPacket } from './startup.js';
import { readParse, buildParse, readBindStatement, replaceName, readTarget, buildCloseStatement } from './extended-query.js';
import { errorResponse, errorField } from './backend-messages.js';

/** Frames in a stream fed in arbitrary pieces, as [type, body length]. */
function framesOf(pieces: Buffer[]): [string, number][] {
  const fb = new FrameBuffer();
  const out: [string, number][] = [];
  for (const p of pieces) {
    const data = fb.take(p);
    if (!data) continue;
    let off = 0;
    while (data.length - off >= 5) {
      const end = off + 1 + frameLength(data, off);
      if (end > data.length) break;
      out.push([String.fromCharCode(data[off]!), end - off - 5]);
      off = end;
    }
    fb.keep(data, off);
  }
  return out;
}

test('frames survive any split of the stream, byte by byte included', () => {
  const stream = Buffer.concat([serialize.query('select 1'), serialize.parse({ name: 's', text: 'select $1', types: [23] }), serialize.sync(),
    serialize.copyData(Buffer.alloc(70000, 1))]);
  const want = framesOf([stream]);
  assert.deepEqual(want.map((f) => f[0]), ['Q', 'P', 'S', 'd']);
  assert.deepEqual(framesOf([...stream].map((b) => Buffer.from([b]))), want);
  assert.deepEqual(framesOf([stream.subarray(0, 3), stream.subarray(3, 40), stream.subarray(40)]), want);
});

test('a nonsense length is a protocol violation', () => {
  assert.throws(() => framesOf([Buffer.from([0x51, 0, 0, 0, 1, 0])]), ProtocolViolation);
});

test('startup, SSLRequest and CancelRequest packets', () => {
  const s = readStartupPacket(serialize.startup({ user: 'alice', database: 'app', application_name: 'é' }));
  assert.equal(s?.packet.kind, 'startup');
  if (s?.packet.kind === 'startup') assert.deepEqual([...s.packet.params], [['user', 'alice'], ['database', 'app'], ['application_name', 'é'], ['client_encoding', 'UTF8']]);
  assert.deepEqual(readStartupPacket(serialize.requestSsl())?.packet, { kind: 'ssl' });
  assert.deepEqual(readStartupPacket(serialize.cancel(7, -2))?.packet, { kind: 'cancel', processId: 7, secretKey: 0xfffffffe });
  assert.equal(readStartupPacket(serialize.startup({ user: 'a' }).subarray(0, 9)), null);
  const v2 = Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]);
  assert.throws(() => readStartupPacket(v2), /unsupported frontend protocol 2.0/);
});

test('statement names are read and replaced in Parse, Bind, Describe and Close', () => {
  const p = serialize.parse({ name: 'P0_1', text: 'select $1::int', types: [23] });
  const info = readParse(p, 0, p.length);
  assert.equal(info.name, 'P0_1');
  assert.deepEqual(buildParse('P0_1', info.tail), p);
  const renamed = buildParse('pgop_s1', info.tail);
  assert.equal(readParse(renamed, 0, renamed.length).name, 'pgop_s1');
  assert.equal(renamed.readUInt32BE(1), renamed.length - 1);

  const b = serialize.bind({ portal: 'pt', statement: 'P0_1', values: ['42', null] });
  const st = readBindStatement(b, 0, b.length);
  assert.equal(st.name, 'P0_1');
  const b2 = replaceName(b, 0, b.length, st.start, st.next, 'pgop_longer_name');
  assert.equal(b2.readUInt32BE(1), b2.length - 1);
  assert.equal(readBindStatement(b2, 0, b2.length).name, 'pgop_longer_name');
  assert.deepEqual(b2.subarray(readBindStatement(b2, 0, b2.length).next), b.subarray(st.next));

  const d = serialize.describe({ type: 'S', name: 'P0_1' });
  const t = readTarget(d, 0, d.length);
  assert.deepEqual([String.fromCharCode(t.kind), t.name], ['S', 'P0_1']);
  assert.deepEqual(buildCloseStatement('x'), serialize.close({ type: 'S', name: 'x' }));
});

test('error responses carry their SQLSTATE', () => {
  const e = errorResponse({ severity: 'FATAL', code: '28P01', message: 'password authentication failed for user "x"' });
  assert.equal(e[0], 0x45);
  assert.equal(errorField(e, 5, e.length, 'C'), '28P01');
  assert.equal(errorField(e, 5, e.length, 'M'), 'password authentication failed for user "x"');
});
