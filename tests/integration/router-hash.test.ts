// The TypeScript port of PostgreSQL's hashes must agree with the database on every input, or rows would be routed
// to a shard whose replication filter / constraint disagrees. Random and edge-case inputs, compared one by one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import pg from 'pg';
import { startScratchPostgres, type ScratchPostgres } from './router-pg-harness.js';
import { integerKeyspaceId, textKeyspaceId } from '../../router/vindex/hash-vindex.js';
import { keyspaceIdHex, evenRanges } from '../../router/vindex/key-range.js';
import { buildRoutingTable, shardForKeyspaceId } from '../../router/routing/routing-table.js';

let server: ScratchPostgres;
let client: pg.Client;

before(async () => {
  server = await startScratchPostgres();
  client = new pg.Client({ connectionString: server.uri() });
  await client.connect();
});
after(async () => { await client?.end(); await server?.stop(); });

/** PostgreSQL's own answer, as the unsigned 16-digit hex keyspace id. */
const SQL_INT = `select k::text as k, lpad(to_hex(hashint8extended(k, 0)), 16, '0') as id from unnest($1::bigint[]) as k`;
const SQL_TEXT = `select ord, lpad(to_hex(hashtextextended(t, 0)), 16, '0') as id from unnest($1::text[]) with ordinality as x(t, ord)`;

test('hashint8extended: the port equals PostgreSQL on edge cases and 2,000 random int8 values', async () => {
  const keys: bigint[] = [0n, 1n, -1n, 2n, -2n, 42n, 2147483647n, -2147483648n, 4294967295n, 4294967296n, -4294967296n,
    9223372036854775807n, -9223372036854775808n];
  for (let i = 0; i < 1000; i++) keys.push(randomBytes(8).readBigInt64BE());
  for (let i = 0; i < 1000; i++) keys.push(BigInt(randomInt(-1_000_000, 1_000_000)));
  const rows = (await client.query<{ k: string; id: string }>(SQL_INT, [keys.map(String)])).rows;
  assert.equal(rows.length, keys.length);
  for (const r of rows) assert.equal(keyspaceIdHex(integerKeyspaceId(BigInt(r.k))), r.id, `key ${r.k}`);
});

test('hashtextextended: the port equals PostgreSQL on empty, non-ASCII, every length 0..40 and long text', async () => {
  const texts = ['', 'a', 'ab', 'abc', 'hello world', 'é', 'naïve café', '日本語のテキスト', '😀🎉', 'Zürich-Ελλάδα-Россия',
    'x'.repeat(10_000), 'ü'.repeat(3001)];
  for (let n = 0; n <= 40; n++) texts.push('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG'.slice(0, n));
  const alphabet = 'abcXYZ019 -_éß日本😀';
  for (let i = 0; i < 1000; i++) {
    const len = randomInt(0, 80);
    texts.push(Array.from({ length: len }, () => [...alphabet][randomInt(0, [...alphabet].length)]).join(''));
  }
  const rows = (await client.query<{ ord: string; id: string }>(SQL_TEXT, [texts])).rows;
  assert.equal(rows.length, texts.length);
  for (const r of rows) {
    const t = texts[Number(r.ord) - 1]!;
    assert.equal(keyspaceIdHex(textKeyspaceId(t)), r.id, `text ${JSON.stringify(t.slice(0, 40))} (length ${t.length})`);
  }
});

test('shard "-80" holds exactly the keys whose hashint8extended is non-negative (the SQL row filter)', async () => {
  const table = buildRoutingTable({ generation: 1, ranges: evenRanges(2).map((r) => ({ ...r, shard: `${r.start}-${r.end}` })) });
  const rows = (await client.query<{ k: string; low: boolean }>(
    'select k::text as k, hashint8extended(k, 0) >= 0 as low from generate_series(-500::bigint, 1499) as k')).rows;
  let low = 0;
  for (const r of rows) {
    const shard = shardForKeyspaceId(table, integerKeyspaceId(r.k));
    assert.equal(shard, r.low ? '-80' : '80-', `key ${r.k}`);
    if (r.low) low++;
  }
  assert.equal(low, 990);
});
