// A platform engineer's first contact with a storage pod: grpcurl over server reflection, with the
// field names written in proto/ (snake_case), against a real `stockify storage` process.
// GRPCURL_TRANSCRIPT=<file> writes every command and its output there (the closing note's session).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type pg from 'pg';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, DATABASE_URL, deleteRedisKeys, dropSchema, testPool, uniqueName } from './helpers.ts';
import { createFeed, deleteTopics, type Feed, produce, type StorageProcess, startStorage, waitFor } from './process.ts';
import type { EnrichedRecord } from './types.ts';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../infra/grpcurl/build.sh', import.meta.url));
const TRANSCRIPT = process.env.GRPCURL_TRANSCRIPT;

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const UNDERLYING = `IDX_I:${RUN}`;
const EXPIRY = '2026-11-26';
const CALL = `NSE_FNO:${RUN}1`;
const PUT = `NSE_FNO:${RUN}2`;
const TICKS = 50;

function market(): EnrichedRecord[] {
  const out: EnrichedRecord[] = [];
  for (let s = 1; s <= TICKS; s++) out.push(rec.tick(tick(UNDERLYING, s)));
  out.push(rec.quote(quote(CALL, 25_000, 'CALL', 1, { underlying: UNDERLYING, expiry: EXPIRY })));
  out.push(rec.quote(quote(PUT, 25_000, 'PUT', 1, { underlying: UNDERLYING, expiry: EXPIRY })));
  out.push(rec.bar(bar(UNDERLYING, T0)));
  out.push(rec.gex(gex(UNDERLYING, T0, EXPIRY)));
  return out;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('grpcurl against a storage process (reflection in proto/ names)', () => {
  let grpcurl: string;
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;

  /** `grpcurl -plaintext <flags> <storage address> <tail>`; never throws, the exit code is the result. */
  async function g(flags: string[], ...tail: string[]): Promise<Result> {
    assert.ok(storage);
    const full = ['-plaintext', ...flags, `127.0.0.1:${storage.grpcPort}`, ...tail];
    let r: Result;
    try {
      const out = await run(grpcurl, full, { timeout: 20_000 });
      r = { code: 0, stdout: out.stdout, stderr: out.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      r = { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
    if (TRANSCRIPT) {
      const shown = full.map((a) => (a.startsWith('{') ? `'${a}'` : a)).join(' ');
      appendFileSync(TRANSCRIPT, `$ grpcurl ${shown}\n${r.stdout}${r.stderr}${r.code === 0 ? '' : `(exit ${r.code})\n`}\n`);
    }
    return r;
  }

  before(async () => {
    grpcurl = (await run('bash', [BUILD], { timeout: 900_000 })).stdout.trim();
    if (TRANSCRIPT) writeFileSync(TRANSCRIPT, '');
    pool = testPool();
    schema = uniqueName('st_grpcurl');
    feed = await createFeed(`stg-${RUN}`);
    await produce(feed.topic, market());
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    await waitFor('all rows', async () => {
      const ticks = await count(pool, schema, 'ticks').catch(() => 0);
      const gexRows = await count(pool, schema, 'gex').catch(() => 0);
      return ticks >= TICKS && gexRows >= 1 ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
  });
  after(async () => {
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
    await deleteRedisKeys(`latest:*:${RUN}*`);
  });

  test('list shows what a storage port serves: MarketData, Shard, health and reflection — not Ingest', async () => {
    const r = await g([], 'list');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
      'stockify.v1.MarketData',
      'stockify.v1.Shard',
    ]);
  });

  test('describe shows the fields as proto/ names them (snake_case) and GetRecentTicks', async () => {
    const svc = await g([], 'describe', 'stockify.v1.MarketData');
    assert.equal(svc.code, 0, svc.stderr);
    assert.match(svc.stdout, /rpc GetRecentTicks \( \.stockify\.v1\.GetRecentTicksRequest \)/);
    const msg = await g([], 'describe', 'stockify.v1.GetTicksRequest');
    assert.equal(msg.code, 0, msg.stderr);
    assert.match(msg.stdout, /int64 from_ms = 2;/);
    assert.match(msg.stdout, /string page_token = 5;/);
    assert.doesNotMatch(msg.stdout, /fromMs/);
  });

  test('health check answers SERVING for the server and for MarketData', async () => {
    for (const service of ['', 'stockify.v1.MarketData']) {
      const r = await g(['-d', JSON.stringify({ service })], 'grpc.health.v1.Health/Check');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).status, 'SERVING');
    }
  });

  test('calls take snake_case fields: GetTicks from_ms/to_ms, GetRecentTicks newest first', async () => {
    const ticks = await g(
      ['-d', JSON.stringify({ instrument: UNDERLYING, from_ms: T0, to_ms: T0 + 1_000_000, limit: 5 })],
      'stockify.v1.MarketData/GetTicks',
    );
    assert.equal(ticks.code, 0, ticks.stderr);
    const page = JSON.parse(ticks.stdout) as { ticks: { seq: string }[]; next_page_token: string };
    assert.deepEqual(
      page.ticks.map((t) => Number(t.seq)),
      [1, 2, 3, 4, 5],
    );
    assert.ok(page.next_page_token, 'grpcurl prints proto/ names too');

    const recent = await g(['-d', JSON.stringify({ instrument: UNDERLYING, limit: 3 })], 'stockify.v1.MarketData/GetRecentTicks');
    assert.equal(recent.code, 0, recent.stderr);
    assert.deepEqual(
      (JSON.parse(recent.stdout) as { ticks: { seq: string }[] }).ticks.map((t) => Number(t.seq)),
      [TICKS, TICKS - 1, TICKS - 2],
    );
  });

  test('each MarketData method: a valid call answers, an invalid one is InvalidArgument naming the field', async () => {
    const M = 'stockify.v1.MarketData';
    const ok: [string, unknown][] = [
      ['GetLatest', { instruments: [UNDERLYING, CALL] }],
      ['GetTicks', { instrument: UNDERLYING, from_ms: T0, to_ms: T0 + 1_000_000, limit: 2 }],
      ['GetRecentTicks', { instrument: UNDERLYING, limit: 2 }],
      ['GetBars', { instrument: UNDERLYING, from_ms: T0, to_ms: T0 + 3_600_000, interval: '1m' }],
      ['GetOptionChain', { underlying: UNDERLYING, expiry: EXPIRY }],
      ['GetGaps', { from_ms: T0, to_ms: T0 + 3_600_000, instrument: UNDERLYING }],
    ];
    for (const [method, req] of ok) {
      const r = await g(['-d', JSON.stringify(req)], `${M}/${method}`);
      assert.equal(r.code, 0, `${method}: ${r.stderr}`);
      // GetGaps answers {} here: this feed recorded no ingestion gap.
      if (method !== 'GetGaps') assert.ok(r.stdout.trim().length > 2, `${method} answers with data`);
    }
    const stream = await g(['-max-time', '2', '-d', JSON.stringify({ instruments: [UNDERLYING] })], `${M}/StreamQuotes`);
    assert.match(stream.stdout, new RegExp(`"instrument_id": "${UNDERLYING}"`), 'the stream starts with the latest snapshot');

    const bad: [string, unknown, RegExp][] = [
      ['GetLatest', { instruments: ['nifty'] }, /instruments\[0\]/],
      ['GetTicks', { instrument: UNDERLYING, from_ms: T0 + 1000, to_ms: T0 }, /from_ms must be ≤ to_ms/],
      ['GetRecentTicks', { instrument: UNDERLYING, limit: 100_000 }, /limit must be/],
      ['GetBars', { instrument: UNDERLYING, from_ms: T0, to_ms: T0 + 1, interval: '2m' }, /interval must be/],
      ['GetOptionChain', { underlying: UNDERLYING, expiry: '2026-02-30' }, /expiry must be/],
      ['StreamQuotes', { instruments: [] }, /instruments must name/],
      ['GetGaps', { from_ms: T0 + 1000, to_ms: T0 }, /from_ms must be ≤ to_ms/],
    ];
    for (const [method, req, field] of bad) {
      const r = await g(['-d', JSON.stringify(req)], `${M}/${method}`);
      assert.notEqual(r.code, 0, `${method} must fail`);
      assert.match(r.stderr, /Code: InvalidArgument/, `${method}: ${r.stderr}`);
      assert.match(r.stderr, field);
    }
  });
});
