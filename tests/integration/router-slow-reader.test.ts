// A client that stops reading while a large result streams through the router: the router's writes to it queue up
// (the backend is paused behind them), and every byte must still arrive intact when it reads again. This is what
// keeps the router's reused read buffer for plain backends honest (router/pool/backend-reads.ts): a chunk still
// queued for the client must never be overwritten by the backend's next read.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import pg from 'pg';
import { startRouterRig, type RouterRig } from './router-harness.js';

let rig: RouterRig;
before(async () => { rig = await startRouterRig(2); });
after(async () => { await rig?.stop(); });

const ROWS = 600_000;
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

test('a client that reads a 600,000-row result stop-and-go gets every row intact, and the backends serve the next clients', async () => {
  const c = new pg.Client({ connectionString: rig.uri() });
  await c.connect();
  try {
    // pg's connection stream is the client's socket: pausing it stops reads, so the router's writes back up.
    const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    const result = c.query<{ g: number; h: string }>(`select g, md5(g::text) as h from generate_series(1, ${ROWS}) g`);
    // Stop-and-go reading: long stops fill the socket buffers, short reads drain them in part, so the router's
    // writes to this client end up queued in every size.
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    const stutter = () => { stopped = !stopped; if (stopped) stream.pause(); else stream.resume(); timer = setTimeout(stutter, stopped ? 40 : 2); };
    stutter();
    const { rows } = await result.finally(() => { if (timer) clearTimeout(timer); stream.resume(); });
    assert.equal(rows.length, ROWS);
    const wrong = rows.filter((r, i) => r.g !== i + 1 || r.h !== md5(String(r.g)));
    assert.deepEqual(wrong.slice(0, 3), [], `${wrong.length} rows differ from what PostgreSQL computed`);
  } finally { await c.end(); }
  // Two clients at once on a pool of 2: both of the backends read after that are sound.
  const check = async () => {
    const d = new pg.Client({ connectionString: rig.uri() });
    await d.connect();
    try {
      const { rows } = await d.query<{ n: string; s: string }>(`select count(*) as n, md5(string_agg(md5(g::text), '' order by g)) as s from generate_series(1, 50000) g`);
      return rows[0]!;
    } finally { await d.end(); }
  };
  const direct = (await rig.admin.query<{ n: string; s: string }>(`select count(*) as n, md5(string_agg(md5(g::text), '' order by g)) as s from generate_series(1, 50000) g`)).rows[0]!;
  for (const r of await Promise.all([check(), check()])) assert.deepEqual(r, direct);
});
