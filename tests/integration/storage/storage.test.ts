// `stockify storage` as a real process against the real broker, PostgreSQL and Redis.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, DATABASE_URL, deleteRedisKeys, dropSchema, testPool, uniqueName } from './helpers.ts';
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
import type { Bar, EnrichedRecord, GetTicksResponse, OptionChain, Snapshot } from './types.ts';

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const UNDERLYING = `IDX_I:${RUN}`;
const EXPIRY = '2026-11-26';
const STRIKES = [24_800, 24_900, 25_000, 25_100, 25_200];

/** One batch of a market: ticks of the underlying, a chain's quotes, bars and GEX. */
function market(fromSeq: number, ticks: number): EnrichedRecord[] {
  const out: EnrichedRecord[] = [];
  for (let s = fromSeq; s < fromSeq + ticks; s++) out.push(rec.tick(tick(UNDERLYING, s)));
  for (const [i, strike] of STRIKES.entries()) {
    out.push(rec.quote(quote(`NSE_FNO:${RUN}${i}1`, strike, 'CALL', fromSeq, { underlying: UNDERLYING, expiry: EXPIRY })));
    out.push(rec.quote(quote(`NSE_FNO:${RUN}${i}2`, strike, 'PUT', fromSeq, { underlying: UNDERLYING, expiry: EXPIRY })));
  }
  out.push(rec.bar(bar(UNDERLYING, T0 + fromSeq * 60_000)));
  out.push(rec.gex(gex(UNDERLYING, T0 + fromSeq, EXPIRY)));
  return out;
}

const rows = async (pool: pg.Pool, schema: string) => ({
  ticks: await count(pool, schema, 'ticks'),
  option_quotes: await count(pool, schema, 'option_quotes'),
  bars_1m: await count(pool, schema, 'bars_1m'),
  gex: await count(pool, schema, 'gex'),
});

describe('stockify storage (process)', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_proc');
    feed = await createFeed(`st-${RUN}`);
  });
  after(async () => {
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
    await deleteRedisKeys(`latest:*:${RUN}*`);
  });

  test('N enriched records, each delivered twice, give exactly N rows', async () => {
    const batch = market(1, 1_000);
    await produce(feed.topic, batch);
    await produce(feed.topic, batch);
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    const want = { ticks: 1_000, option_quotes: 10, bars_1m: 1, gex: 1 };
    await waitFor('all rows', async () => {
      const got = await rows(pool, schema).catch(() => undefined);
      return got && got.ticks >= want.ticks && got.option_quotes >= want.option_quotes ? got : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
    await new Promise((r) => setTimeout(r, 1_500)); // let the duplicates arrive too
    assert.deepEqual(await rows(pool, schema), want);
  });

  test('killed between COPY and COMMIT and restarted: nothing lost, nothing doubled', async () => {
    await storage?.stop();
    storage = undefined;
    const batch = market(10_000, 500);
    await produce(feed.topic, batch);
    const crashing = await startStorage(feed, {
      schema,
      databaseUrl: DATABASE_URL,
      env: { STORAGE_TEST_CRASH_BEFORE_COMMIT: '1' },
    });
    const exit = await crashing.exited;
    assert.equal(exit.signal, 'SIGKILL', crashing.output());
    assert.deepEqual(
      await rows(pool, schema),
      { ticks: 1_000, option_quotes: 10, bars_1m: 1, gex: 1 },
      'nothing of the crashed batch committed',
    );
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    const want = { ticks: 1_500, option_quotes: 20, bars_1m: 2, gex: 2 };
    await waitFor('rows after restart', async () => {
      const got = await rows(pool, schema);
      return got.ticks >= want.ticks && got.option_quotes >= want.option_quotes && got.bars_1m >= 2 && got.gex >= 2
        ? got
        : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual(await rows(pool, schema), want);
  });

  test('a gRPC client gets a chain with Greeks, bars, pages of ticks and the latest snapshot', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    try {
      const chain = await call<OptionChain>(client, 'GetOptionChain', { underlying: UNDERLYING, expiry: EXPIRY });
      assert.equal(chain.quotes.length, 10);
      assert.ok(
        chain.quotes.every((q) => q.ivAvailable && q.iv > 0 && q.gamma > 0 && q.seq === 10_000),
        'latest quote per contract with IV and Greeks',
      );
      assert.equal(chain.gex?.zeroGammaLevel, 24_870.5);
      const bySymbolErr = await call<OptionChain>(client, 'GetOptionChain', { underlying: 'NO_SUCH_SYMBOL' }).catch(
        (e: grpc.ServiceError) => e,
      );
      assert.equal((bySymbolErr as grpc.ServiceError).code, grpc.status.NOT_FOUND);

      const bars = await call<{ bars: Bar[] }>(client, 'GetBars', {
        instrument: UNDERLYING,
        fromMs: T0,
        toMs: T0 + 10_000 * 60_000,
      });
      assert.equal(bars.bars.length, 2);
      const wide = await call<{ bars: Bar[] }>(client, 'GetBars', {
        instrument: UNDERLYING,
        fromMs: T0 - 86_400_000,
        toMs: T0 + 10_000 * 60_000,
        interval: '1d',
      });
      assert.deepEqual(
        wide.bars.map((b) => Number(b.minuteStartMs)),
        [Date.UTC(2026, 10, 19, 18, 30), Date.UTC(2026, 10, 26, 18, 30)],
        'the two minutes, a week apart, are one daily bar each (IST days)',
      );
      const badInterval = await call(client, 'GetBars', {
        instrument: UNDERLYING,
        fromMs: T0,
        toMs: T0 + 1,
        interval: '7m',
      }).catch((e: grpc.ServiceError) => e);
      assert.equal((badInterval as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
      assert.match((badInterval as grpc.ServiceError).details, /^interval must be one of/);

      const seqs: number[] = [];
      let pageToken = '';
      let pages = 0;
      do {
        const page = await call<GetTicksResponse>(client, 'GetTicks', {
          instrument: UNDERLYING,
          fromMs: T0,
          toMs: T0 + 86_400_000,
          limit: 400,
          pageToken,
        });
        seqs.push(...page.ticks.map((t) => t.seq));
        pageToken = page.nextPageToken;
        pages += 1;
      } while (pageToken !== '' && pages < 20);
      assert.equal(pages, 4);
      assert.equal(seqs.length, 1_500);
      assert.equal(new Set(seqs).size, 1_500);

      const bad = await call(client, 'GetTicks', { instrument: UNDERLYING, fromMs: 10, toMs: 5 }).catch(
        (e: grpc.ServiceError) => e,
      );
      assert.equal((bad as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
      assert.match((bad as grpc.ServiceError).details, /from_ms must be ≤ to_ms/);
      const big = await call(client, 'GetTicks', { instrument: UNDERLYING, fromMs: 1, toMs: 5, limit: 20_000 }).catch(
        (e: grpc.ServiceError) => e,
      );
      assert.match((big as grpc.ServiceError).details, /limit must be ≤ 10000/);

      const latest = await call<{ snapshots: Snapshot[] }>(client, 'GetLatest', { instruments: [UNDERLYING] });
      assert.equal(latest.snapshots[0]?.tick?.seq, 10_499);
    } finally {
      client.close();
    }
  });

  test('a live stream starts with a snapshot and sees a new tick shortly after it is written', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    const stream = (client as unknown as { StreamQuotes(req: unknown): grpc.ClientReadableStream<Snapshot> }).StreamQuotes({
      instruments: [UNDERLYING],
    });
    try {
      const received: { at: number; s: Snapshot }[] = [];
      stream.on('data', (s: Snapshot) => received.push({ at: Date.now(), s }));
      stream.on('error', () => undefined);
      const first = await waitFor('snapshot', async () => received[0], 10_000, 20);
      assert.equal(first.s.tick?.seq, 10_499);
      const sentAt = Date.now();
      await produce(feed.topic, [rec.tick(tick(UNDERLYING, 20_000, Date.now()))]);
      const update = await waitFor('live update', async () => received.find((r) => r.s.tick?.seq === 20_000), 15_000, 5);
      process.stdout.write(`# live stream: update seen ${update.at - sentAt} ms after the producer sent it\n`);
    } finally {
      stream.cancel();
      client.close();
    }
  });
});
