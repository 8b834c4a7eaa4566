import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { followLog } from './log-follower.js';

const until = async (ok: () => boolean) => { for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10)); };

test('followLog hands on lines appended after it started, whole lines only, and starts over on truncation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgop-follow-'));
  const file = join(dir, 'postgres.log');
  try {
    writeFileSync(file, 'before the agent\n');
    const lines: string[] = [];
    const stop = followLog(file, (l) => lines.push(l), 10);
    appendFileSync(file, 'LOG:  database system is ready\nLOG:  half');
    await until(() => lines.length >= 1);
    appendFileSync(file, ' a line\n');
    await until(() => lines.length >= 2);
    assert.deepEqual(lines, ['LOG:  database system is ready', 'LOG:  half a line']);
    writeFileSync(file, 'new\n');
    await until(() => lines.length >= 3);
    appendFileSync(file, 'unfinished');
    stop();
    assert.deepEqual(lines, ['LOG:  database system is ready', 'LOG:  half a line', 'new', 'unfinished']);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
