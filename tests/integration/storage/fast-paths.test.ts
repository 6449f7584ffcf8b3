// MarketData's fast paths against a real `stockify storage` process: GetLatest in one Redis round
// trip plus one PostgreSQL statement for what Redis lacks, the in-process option chain kept current
// by Redis live updates, and GetRecentTicks (gRPC and `stockify query recent`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type pg from 'pg';
import type { OptionChain, Snapshot, Tick } from '../../../services/core/messages.ts';
import { latestKey, liveChannel, snapshotCodec } from '../../../services/storage/live.ts';
import { gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, DATABASE_URL, deleteRedisKeys, dropSchema, REDIS_URL, testPool, uniqueName } from './helpers.ts';
import {
  call,
  createFeed,
  deleteTopics,
  type Feed,
  marketDataClient,
  produce,
  type StorageProcess,
  startStorage,
  waitFor,
} from './process.ts';
import type { EnrichedRecord } from './types.ts';

const CLI = fileURLToPath(new URL('../../../services/cli.ts', import.meta.url));
const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const UNDERLYING = `IDX_I:${RUN}`;
const EQUITIES = Array.from({ length: 20 }, (_, i) => `NSE_EQ:${RUN}${i}`);
const EXPIRY = '2026-11-26';
const STRIKES = [24_900, 25_000, 25_100];
const contract = (i: number, type: 'CALL' | 'PUT'): string => `NSE_FNO:${RUN}${i}${type === 'CALL' ? 1 : 2}`;
const TICKS = 300;

function market(): EnrichedRecord[] {
  const out: EnrichedRecord[] = [];
  for (let s = 1; s <= TICKS; s++) out.push(rec.tick(tick(UNDERLYING, s)));
  for (const [i, id] of EQUITIES.entries()) out.push(rec.tick(tick(id, 1, T0 + i, 100 + i)));
  for (const [i, strike] of STRIKES.entries()) {
    for (const type of ['CALL', 'PUT'] as const) {
      out.push(rec.quote(quote(contract(i, type), strike, type, 1, { underlying: UNDERLYING, expiry: EXPIRY })));
    }
  }
  out.push(rec.gex(gex(UNDERLYING, T0, EXPIRY)));
  return out;
}

describe('MarketData fast paths', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;
  let redis: Redis;

  before(async () => {
    pool = testPool();
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    schema = uniqueName('st_fast');
    feed = await createFeed(`stf-${RUN}`);
    await produce(feed.topic, market());
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    await waitFor('all rows', async () => {
      const ticks = await count(pool, schema, 'ticks').catch(() => 0);
      const quotes = await count(pool, schema, 'option_quotes').catch(() => 0);
      return ticks >= TICKS + EQUITIES.length && quotes >= STRIKES.length * 2 ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
    // Redis has written its latest keys after the batch commit; wait for the last of them.
    await waitFor('latest keys', async () => ((await redis.exists(latestKey(contract(2, 'PUT')))) ? true : undefined));
  });
  after(async () => {
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
    await deleteRedisKeys(`latest:*:${RUN}*`);
    redis.disconnect();
  });

  test('GetLatest: 1,000 ids Redis does not have answer in one PostgreSQL statement, in under 2 s', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    const unknown = Array.from({ length: 1_000 }, (_, i) => `NSE_EQ:${RUN}7${i}`);
    const started = performance.now();
    const res = await call<{ snapshots: Snapshot[] }>(client, 'GetLatest', { instruments: unknown }, 30_000);
    const ms = performance.now() - started;
    assert.equal(res.snapshots.length, 0);
    assert.ok(ms < 2_000, `1,000 unknown ids took ${ms.toFixed(0)} ms (was 28 s with one transaction per id)`);
    client.close();
  });

  test('GetLatest: ids from Redis and ids only in PostgreSQL, answered in request order', async () => {
    assert.ok(storage);
    // Half the equities lose their Redis key: those must come from PostgreSQL, the rest from Redis.
    const dropped = EQUITIES.filter((_, i) => i % 2 === 0);
    await redis.del(...dropped.map(latestKey));
    const ids = [...EQUITIES].reverse();
    const client = marketDataClient(storage.grpcPort);
    const res = await call<{ snapshots: Snapshot[] }>(client, 'GetLatest', { instruments: [...ids, `NSE_EQ:${RUN}999`] });
    assert.deepEqual(
      res.snapshots.map((s) => s.instrumentId),
      ids,
    );
    for (const s of res.snapshots) {
      const i = EQUITIES.indexOf(s.instrumentId);
      assert.equal(
        s.payload === 'tick' ? s.tick.lastPrice : undefined,
        100 + i,
        `${s.instrumentId} from ${dropped.includes(s.instrumentId) ? 'PostgreSQL' : 'Redis'}`,
      );
      assert.equal(Number(s.timeMs), T0 + i);
    }
    client.close();
  });

  test('GetRecentTicks: the newest N, newest first, and `stockify query recent` prints them', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    const res = await call<{ ticks: Tick[] }>(client, 'GetRecentTicks', { instrument: UNDERLYING, limit: 5 });
    assert.deepEqual(
      res.ticks.map((t) => Number(t.seq)),
      [TICKS, TICKS - 1, TICKS - 2, TICKS - 3, TICKS - 4],
    );
    const dflt = await call<{ ticks: Tick[] }>(client, 'GetRecentTicks', { instrument: UNDERLYING });
    assert.equal(dflt.ticks.length, 100, 'limit 0 means 100');
    await assert.rejects(call(client, 'GetRecentTicks', { instrument: UNDERLYING, limit: 1001 }), /INVALID_ARGUMENT.*limit/);
    client.close();

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'query', 'recent', UNDERLYING, '--limit', '3', '--json', '--endpoint', `127.0.0.1:${storage.grpcPort}`],
      { timeout: 30_000 },
    );
    assert.deepEqual(
      (JSON.parse(stdout) as Tick[]).map((t) => Number(t.seq)),
      [TICKS, TICKS - 1, TICKS - 2],
    );
  });

  test('GetOptionChain follows live updates on Redis (as any shard publishes them) without reading PostgreSQL', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    const req = { underlying: UNDERLYING, expiry: EXPIRY };
    const first = await call<OptionChain>(client, 'GetOptionChain', req);
    assert.equal(first.quotes.length, STRIKES.length * 2);
    assert.deepEqual(
      first.quotes.map((q) => `${q.meta.strike} ${q.meta.optionType}`),
      STRIKES.flatMap((s) => [`${s} CALL`, `${s} PUT`]),
    );
    // A newer quote published on live:<id> only, as another storage shard would after its commit.
    const id = contract(1, 'CALL');
    const newer = quote(id, 25_000, 'CALL', 2, { underlying: UNDERLYING, expiry: EXPIRY, timeMs: T0 + 60_000 });
    newer.price = 321.5;
    newer.underlyingPrice = 25_123;
    const snap: Snapshot = { instrumentId: id, timeMs: newer.exchangeTimeMs, payload: 'optionQuote', optionQuote: newer };
    await redis.publish(liveChannel(id), snapshotCodec.encode(snap));
    const updated = await waitFor(
      'the chain to show the live quote',
      async () => {
        const c = await call<OptionChain>(client, 'GetOptionChain', req);
        return c.quotes.find((q) => q.instrument.id === id)?.price === 321.5 ? c : undefined;
      },
      5_000,
      20,
    );
    assert.equal(updated.spot, 25_123, 'spot follows the newest quote once it is newer than the GEX row');
    // An older (stale) update is ignored: newest wins, as in Redis.
    const stale = { ...newer, price: 1, exchangeTimeMs: T0 + 30_000 };
    await redis.publish(
      liveChannel(id),
      snapshotCodec.encode({ instrumentId: id, timeMs: stale.exchangeTimeMs, payload: 'optionQuote', optionQuote: stale }),
    );
    await new Promise((r) => setTimeout(r, 200));
    const after = await call<OptionChain>(client, 'GetOptionChain', req);
    assert.equal(after.quotes.find((q) => q.instrument.id === id)?.price, 321.5);
    // PostgreSQL never saw it: the answer came from the cache.
    const stored = await pool.query<{ price: number }>(
      `SELECT price FROM "${schema}".option_quotes WHERE instrument_id = $1 ORDER BY exchange_time DESC LIMIT 1`,
      [id],
    );
    assert.equal(stored.rows[0]?.price, 120.5);
    client.close();
  });
});
