// Handover and gaps against a real `stockify storage` process: the overlapping streams of an
// ingestion pod and its successor (the same Dhan packets, decoded by two processes that started at
// different points) become one row per packet, and a recorded ingestion gap is a row that GetGaps
// returns, once however often it is delivered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import type { EnrichedRecord, IngestionGap } from '../../../services/core/messages.ts';
import { SCHEMA_VERSION } from '../../../services/core/proto.ts';
import { decodePacket } from '../../../services/ingestion/dhan/packet.ts';
import { DhanState } from '../../../services/ingestion/dhan/state.ts';
import { encodeQuote } from '../ingestion/dhan-encoder.ts';
import { count, DATABASE_URL, dropSchema, testPool, uniqueName } from './helpers.ts';
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

const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const PACKETS = 60;
const LTT = Math.floor(Date.now() / 1000) + 19_800 - 600;

/** The exchange's packets: 4 a second of one instrument, cumulative volume growing. */
function packets(): Buffer[] {
  return Array.from({ length: PACKETS }, (_, i) =>
    encodeQuote(
      { segment: 'NSE_EQ', securityId: RUN },
      {
        ltp: 100 + i / 20,
        ltq: 1,
        ltt: LTT + Math.floor(i / 4),
        atp: 100,
        volume: 10_000 + i,
        totalSell: 5,
        totalBuy: 5,
        open: 99,
        close: 98,
        high: 110,
        low: 90,
      },
    ),
  );
}

/** What one ingestion process publishes for the packets it receives (processor passes ticks on). */
function published(received: Buffer[], receivedMs: number): EnrichedRecord[] {
  const state = new DhanState(new Map());
  return received.flatMap((b) => {
    const out = state.apply(decodePacket(b), receivedMs, b);
    return out?.record.payload === 'tick'
      ? [{ schemaVersion: SCHEMA_VERSION, payload: 'tick' as const, tick: out.record.tick }]
      : [];
  });
}

describe('handover and gaps (storage process)', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;
  const gap: IngestionGap = {
    namespace: 'storage-test',
    feed: '',
    shard: 0,
    instrumentIds: [`NSE_EQ:${RUN}`],
    fromMs: 1_767_000_000_000,
    toMs: 1_767_000_004_000,
    detectedMs: 1_767_000_010_000,
  };

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_handover');
    feed = await createFeed(`st-hand-${RUN}`);
    gap.feed = feed.feed;
  });
  after(async () => {
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
  });

  test('an old pod and its successor publishing the same packets (overlap of 25) store one row per packet', async () => {
    const all = packets();
    const old = published(all.slice(0, 40), Date.now() - 2_000);
    const successor = published(all.slice(15), Date.now());
    await produce(feed.topic, [...old, ...successor]);
    storage = await startStorage(feed, { schema, databaseUrl: DATABASE_URL });
    await waitFor('every packet stored', async () =>
      (await count(pool, schema, 'ticks').catch(() => 0)) >= PACKETS ? true : undefined,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(old.length + successor.length, PACKETS + 25, 'both published the overlap');
    assert.equal(await count(pool, schema, 'ticks'), PACKETS, 'stored once each');
    const volumes = await pool.query<{ v: string }>(`SELECT volume AS v FROM "${schema}".ticks ORDER BY volume`);
    assert.deepEqual(
      volumes.rows.map((r) => Number(r.v)),
      Array.from({ length: PACKETS }, (_, i) => 10_000 + i),
      'every packet, none twice',
    );
  });

  test('a gap record delivered twice is one row, returned by GetGaps for its range and instrument', async () => {
    const record: EnrichedRecord = { schemaVersion: SCHEMA_VERSION, payload: 'gap', gap };
    await produce(feed.topic, [record, record]);
    await waitFor('the gap row', async () => ((await count(pool, schema, 'gaps').catch(() => 0)) >= 1 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await count(pool, schema, 'gaps'), 1);
    const client = marketDataClient(storage?.grpcPort ?? 0);
    try {
      const hit = await call<{ gaps: IngestionGap[] }>(client, 'GetGaps', { fromMs: gap.toMs, toMs: gap.toMs + 1 });
      assert.equal(hit.gaps.length, 1);
      const g = hit.gaps[0] as IngestionGap;
      assert.deepEqual(
        { ...g, fromMs: Number(g.fromMs), toMs: Number(g.toMs), detectedMs: Number(g.detectedMs) },
        gap,
        'the row as recorded',
      );
      const byInstrument = await call<{ gaps: IngestionGap[] }>(client, 'GetGaps', { instrument: `NSE_EQ:${RUN}` });
      assert.equal(byInstrument.gaps.length, 1);
      const other = await call<{ gaps: IngestionGap[] }>(client, 'GetGaps', { instrument: 'NSE_EQ:1' });
      assert.equal(other.gaps.length, 0, 'another instrument has no gap');
      const before = await call<{ gaps: IngestionGap[] }>(client, 'GetGaps', { fromMs: 1, toMs: gap.fromMs - 1 });
      assert.equal(before.gaps.length, 0, 'a range that ends before the gap');
      await assert.rejects(call(client, 'GetGaps', { fromMs: 5, toMs: 4 }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /from_ms/);
        return true;
      });
    } finally {
      client.close();
    }
  });
});
