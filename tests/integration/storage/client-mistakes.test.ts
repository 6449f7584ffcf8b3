// Against a real `stockify storage` process: every client mistake gets INVALID_ARGUMENT or
// NOT_FOUND with a message naming the field, promptly (no hang until the deadline), and none of
// them counts as a database error in the metrics.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import { DATABASE_URL, dropSchema, testPool, uniqueName } from './helpers.ts';
import {
  call,
  createFeed,
  deleteTopics,
  type Feed,
  marketDataClient,
  type StorageProcess,
  startStorage,
  waitFor,
} from './process.ts';

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const RANGE = { instrument: `IDX_I:${RUN}`, fromMs: 1_000, toMs: 5_000 };
const forge = (body: unknown): string => Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
const { INVALID_ARGUMENT, NOT_FOUND } = grpc.status;

interface Case {
  method: 'GetOptionChain' | 'GetTicks' | 'GetBars' | 'GetLatest' | 'StreamQuotes';
  request: unknown;
  code: grpc.status;
  field: string;
}

const CASES: Case[] = [
  { method: 'GetOptionChain', request: {}, code: INVALID_ARGUMENT, field: 'underlying' },
  { method: 'GetOptionChain', request: { underlying: 'NIFTY', expiry: '2026-13-01' }, code: INVALID_ARGUMENT, field: 'expiry' },
  { method: 'GetOptionChain', request: { underlying: 'NIFTY', expiry: '2026-02-30' }, code: INVALID_ARGUMENT, field: 'expiry' },
  { method: 'GetOptionChain', request: { underlying: 'NIFTY', expiry: '0000-01-01' }, code: INVALID_ARGUMENT, field: 'expiry' },
  { method: 'GetOptionChain', request: { underlying: 'bad;symbol' }, code: INVALID_ARGUMENT, field: 'underlying' },
  { method: 'GetOptionChain', request: { underlying: 'NO_SUCH_SYMBOL' }, code: NOT_FOUND, field: 'underlying' },
  { method: 'GetOptionChain', request: { underlying: `IDX_I:${RUN}` }, code: NOT_FOUND, field: 'option contracts' },
  {
    method: 'GetOptionChain',
    request: { underlying: `IDX_I:${RUN}`, expiry: '2026-11-26' },
    code: NOT_FOUND,
    field: 'expiry',
  },
  { method: 'GetTicks', request: { ...RANGE, toMs: 9_007_199_254_740_991 }, code: INVALID_ARGUMENT, field: 'to_ms' },
  { method: 'GetTicks', request: { ...RANGE, fromMs: -1 }, code: INVALID_ARGUMENT, field: 'from_ms' },
  { method: 'GetTicks', request: { ...RANGE, fromMs: 6_000 }, code: INVALID_ARGUMENT, field: 'from_ms' },
  { method: 'GetTicks', request: { ...RANGE, limit: -5 }, code: INVALID_ARGUMENT, field: 'limit' },
  { method: 'GetTicks', request: { ...RANGE, limit: 10_001 }, code: INVALID_ARGUMENT, field: 'limit' },
  { method: 'GetTicks', request: { fromMs: 1, toMs: 2 }, code: INVALID_ARGUMENT, field: 'instrument' },
  { method: 'GetTicks', request: { ...RANGE, instrument: 'nifty' }, code: INVALID_ARGUMENT, field: 'instrument' },
  { method: 'GetTicks', request: { ...RANGE, pageToken: 'forged' }, code: INVALID_ARGUMENT, field: 'page_token' },
  { method: 'GetTicks', request: { ...RANGE, pageToken: forge(null) }, code: INVALID_ARGUMENT, field: 'page_token' },
  {
    method: 'GetTicks',
    request: { ...RANGE, pageToken: forge({ v: 1, i: RANGE.instrument, f: 1_000, t: 5_000, at: 9e15, as: 1 }) },
    code: INVALID_ARGUMENT,
    field: 'page_token',
  },
  {
    method: 'GetTicks',
    request: { ...RANGE, pageToken: forge({ v: 1, i: RANGE.instrument, f: 1_000, t: 5_000, at: 2_000, as: 'x' }) },
    code: INVALID_ARGUMENT,
    field: 'page_token',
  },
  {
    method: 'GetTicks',
    request: { ...RANGE, pageToken: forge({ v: 1, i: 'IDX_I:1', f: 1_000, t: 5_000, at: 2_000, as: 1 }) },
    code: INVALID_ARGUMENT,
    field: 'page_token',
  },
  { method: 'GetBars', request: { ...RANGE, interval: '7m' }, code: INVALID_ARGUMENT, field: 'interval' },
  { method: 'GetBars', request: { instrument: RANGE.instrument }, code: INVALID_ARGUMENT, field: 'to_ms' },
  { method: 'GetBars', request: { ...RANGE, toMs: 40 * 86_400_000 }, code: INVALID_ARGUMENT, field: 'to_ms - from_ms' },
  { method: 'GetLatest', request: {}, code: INVALID_ARGUMENT, field: 'instruments' },
  { method: 'GetLatest', request: { instruments: ['IDX_I:13', 'nifty'] }, code: INVALID_ARGUMENT, field: 'instruments[1]' },
  { method: 'StreamQuotes', request: { instruments: [] }, code: INVALID_ARGUMENT, field: 'instruments' },
  { method: 'StreamQuotes', request: { instruments: ['not an id'] }, code: INVALID_ARGUMENT, field: 'instruments[0]' },
];

/** The stream's final status, or a timeout error if none came. */
function streamStatus(client: grpc.Client, request: unknown, deadlineMs: number): Promise<grpc.StatusObject> {
  const stream = (
    client as unknown as { StreamQuotes(r: unknown, o: grpc.CallOptions): grpc.ClientReadableStream<unknown> }
  ).StreamQuotes(request, { deadline: Date.now() + deadlineMs });
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('status', resolve);
  });
}

async function dbErrors(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('stockify_storage_db_errors_total'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('MarketData client mistakes (process)', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;
  let client: grpc.Client;

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_args');
    feed = await createFeed(`sta-${RUN}`);
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    client = marketDataClient(storage.grpcPort);
    const port = storage.grpcPort;
    await waitFor(`storage serving on ${port}`, async () => {
      const r = await call(client, 'GetTicks', RANGE, 2_000).catch((e: grpc.ServiceError) => e);
      return (r as grpc.ServiceError).code === grpc.status.UNAVAILABLE ? undefined : true;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
  });
  after(async () => {
    client?.close();
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
  });

  for (const c of CASES) {
    test(`${c.method} ${JSON.stringify(c.request).slice(0, 90)} → ${grpc.status[c.code]} naming ${c.field}`, async () => {
      assert.ok(storage);
      const started = Date.now();
      let got: { code: grpc.status; details: string };
      if (c.method === 'StreamQuotes') got = await streamStatus(client, c.request, 5_000);
      else {
        got = await call(client, c.method, c.request, 5_000).then(
          () => ({ code: grpc.status.OK, details: 'OK' }),
          (e: grpc.ServiceError) => e,
        );
      }
      assert.equal(grpc.status[got.code], grpc.status[c.code], got.details);
      assert.ok(got.details.includes(c.field), `'${got.details}' names ${c.field}`);
      assert.ok(Date.now() - started < 2_000, `answered in ${Date.now() - started} ms, not at the deadline`);
    });
  }

  test('none of these counted as a database error, and the server still answers a valid call', async () => {
    assert.ok(storage);
    assert.equal(await dbErrors(storage.metricsPort), 0);
    const ok = await call<{ ticks: unknown[] }>(client, 'GetTicks', RANGE);
    assert.deepEqual(ok.ticks, []);
  });
});
