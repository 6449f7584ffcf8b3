// A cancelled MarketData call cancels its own query and nobody else's: callers that give up
// (client-side cancel, a deadline of a few ms) run beside callers that wait, against a real
// `stockify storage` process whose read pool (8 connections) they all share.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, DATABASE_URL, deleteRedisKeys, dropSchema, testPool, uniqueName } from './helpers.ts';
import {
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

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const UNDERLYING = `IDX_I:${RUN}`;
const EXPIRY = '2026-11-26';
const STRIKES = [24_800, 24_900, 25_000, 25_100, 25_200];
/** Ids Redis does not know: GetLatest reads each from PostgreSQL, one query per id on the same call. */
const UNKNOWN = Array.from({ length: 60 }, (_, i) => `NSE_EQ:${RUN}9${i}`);

function market(ticks: number): EnrichedRecord[] {
  const out: EnrichedRecord[] = [];
  for (let s = 1; s <= ticks; s++) out.push(rec.tick(tick(UNDERLYING, s)));
  for (const [i, strike] of STRIKES.entries()) {
    out.push(rec.quote(quote(`NSE_FNO:${RUN}${i}1`, strike, 'CALL', 1, { underlying: UNDERLYING, expiry: EXPIRY })));
    out.push(rec.quote(quote(`NSE_FNO:${RUN}${i}2`, strike, 'PUT', 1, { underlying: UNDERLYING, expiry: EXPIRY })));
  }
  out.push(rec.bar(bar(UNDERLYING, T0)));
  out.push(rec.gex(gex(UNDERLYING, T0, EXPIRY)));
  return out;
}

type Method = 'GetOptionChain' | 'GetBars' | 'GetTicks' | 'GetLatest';
const REQUESTS: Record<Method, unknown> = {
  GetOptionChain: { underlying: UNDERLYING, expiry: EXPIRY },
  GetBars: { instrument: UNDERLYING, fromMs: T0 - 86_400_000, toMs: T0 + 86_400_000, interval: '1h' },
  GetTicks: { instrument: UNDERLYING, fromMs: T0 - 86_400_000, toMs: T0 + 86_400_000, limit: 5_000 },
  GetLatest: { instruments: UNKNOWN },
};

/**
 * One call; resolves with its status code. `cancelAfterMs` cancels it from the client side;
 * otherwise it has `deadlineMs` to finish.
 */
function attempt(
  client: grpc.Client,
  method: Method,
  opts: { deadlineMs: number; cancelAfterMs?: number },
): Promise<grpc.status> {
  const fn = (
    client as unknown as Record<
      string,
      (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall
    >
  )[method];
  assert.ok(fn);
  return new Promise((resolve) => {
    const c = fn.call(client, REQUESTS[method], { deadline: Date.now() + opts.deadlineMs }, (err) =>
      resolve(err ? err.code : grpc.status.OK),
    );
    if (opts.cancelAfterMs !== undefined) setTimeout(() => c.cancel(), opts.cancelAfterMs);
  });
}

const name = (code: grpc.status): string => grpc.status[code] ?? String(code);

describe('MarketData cancellation', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_cancel');
    feed = await createFeed(`stc-${RUN}`);
    await produce(feed.topic, market(5_000));
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    await waitFor('all rows', async () => {
      const ticks = await count(pool, schema, 'ticks').catch(() => 0);
      const quotes = await count(pool, schema, 'option_quotes').catch(() => 0);
      const gexRows = await count(pool, schema, 'gex').catch(() => 0);
      return ticks >= 5_000 && quotes >= 10 && gexRows >= 1 ? true : undefined;
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

  test('callers that cancel mid-flight never cancel the queries of the 16 callers that wait, nor any later call', async () => {
    assert.ok(storage);
    const client = marketDataClient(storage.grpcPort);
    const patient: Method[] = ['GetOptionChain', 'GetBars', 'GetTicks', 'GetLatest'];
    try {
      for (let round = 0; round < 4; round++) {
        const quitters: Promise<grpc.status>[] = [];
        const waiters: Promise<{ method: Method; code: grpc.status }>[] = [];
        for (let i = 0; i < 8; i++) {
          const method: Method = i % 2 === 0 ? 'GetLatest' : (['GetOptionChain', 'GetTicks', 'GetBars'][i % 3] as Method);
          quitters.push(
            attempt(client, method, i < 4 ? { deadlineMs: 5 + i * 10 } : { deadlineMs: 10_000, cancelAfterMs: i * 8 }),
          );
        }
        for (let i = 0; i < 16; i++) {
          const method = patient[i % patient.length] as Method;
          waiters.push(attempt(client, method, { deadlineMs: 30_000 }).then((code) => ({ method, code })));
        }
        const gaveUp = await Promise.all(quitters);
        assert.ok(
          gaveUp.some((c) => c === grpc.status.CANCELLED || c === grpc.status.DEADLINE_EXCEEDED),
          `some callers must have cancelled mid-flight (got ${gaveUp.map(name).join(', ')})`,
        );
        const done = await Promise.all(waiters);
        const failed = done.filter((d) => d.code !== grpc.status.OK).map((d) => `${d.method}: ${name(d.code)}`);
        assert.deepEqual(failed, [], `round ${round}: every caller that waited finishes OK`);
      }
      // After the cancellations: a burst of calls on the same pooled connections all succeed.
      const burst = await Promise.all(
        Array.from({ length: 32 }, (_, i) => {
          const method = patient[i % patient.length] as Method;
          return attempt(client, method, { deadlineMs: 30_000 }).then((code) => ({ method, code }));
        }),
      );
      assert.deepEqual(
        burst.filter((d) => d.code !== grpc.status.OK).map((d) => `${d.method}: ${name(d.code)}`),
        [],
        'every call after the cancellations finishes OK',
      );
    } finally {
      client.close();
    }
  });
});
