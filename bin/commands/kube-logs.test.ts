import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixedLines, tailOption } from './kube-logs.js';

test('prefixedLines prefixes whole lines across chunk boundaries, and a last line without its newline', async () => {
  const got: string[] = [];
  const w = prefixedLines('[demo-1] ', (l) => got.push(l));
  const done = new Promise((r) => w.on('finish', r));
  w.write('{"msg":"agent st');
  w.write('arted"}\nLOG:  ready\npartial');
  w.end();
  await done;
  assert.deepEqual(got, ['[demo-1] {"msg":"agent started"}', '[demo-1] LOG:  ready', '[demo-1] partial']);
});

test('tailOption takes a count or -1 for all, and refuses anything else', () => {
  assert.equal(tailOption('20'), 20);
  assert.equal(tailOption('0'), 0);
  assert.equal(tailOption('-1'), undefined);
  assert.throws(() => tailOption('-2'), /--tail must be a number/);
  assert.throws(() => tailOption('ten'), /--tail must be a number/);
});
