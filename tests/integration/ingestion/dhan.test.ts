// (b) Every Dhan packet type sent by the double decodes to exactly the values sent (prices as
// float32, quantities, depth, OI, LTT converted from IST to UTC) and lands in Kafka; several packets
// in one message included. (c) Truncated, oversized and unknown-code packets, alone or among good
// ones in a message, cost only their own bytes: each is one DLQ record with its reason, and every
// good packet is in Kafka exactly once, in order. The option chain comes from the REST double.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { DeadLetter, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { dlqTopic, rawTopic } from '../../../services/core/topics.ts';
import { startDhanDouble } from './dhan-double.ts';
import {
  encodeFull,
  encodeMarketStatus,
  encodeOi,
  encodePrevClose,
  encodeQuote,
  encodeTicker,
  encodeUnknownCode,
  oversize,
} from './dhan-encoder.ts';
import { BROKERS, baseEnv, consumeAll, deleteTopics, runId, startIngestion, writeShardFile } from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const dlq = codec<DeadLetter>('DeadLetter');
const feed = `dhan-${runId()}`;
after(() => deleteTopics(BROKERS, feed));

const ltt = Math.floor(Date.now() / 1000) + 19_800; // IST wall clock as epoch seconds
const utc = (ltt - 19_800) * 1000;
const eq = { segment: 'NSE_EQ', securityId: 1333 };
const fno = { segment: 'NSE_FNO', securityId: 43521 };
const quote = {
  ltp: 1650.55,
  ltq: 25,
  ltt,
  atp: 1648.2,
  volume: 1234567,
  totalSell: 40000,
  totalBuy: 52000,
  open: 1640.1,
  close: 1638.4,
  high: 1655.0,
  low: 1631.35,
};
const fquote = { ...quote, ltp: 212.35, ltq: 75, volume: 987000, open: 200.5, close: 198.0, high: 220.0, low: 190.05 };
const depth = [0, 1, 2, 3, 4].map((i) => ({
  bidQty: 75 * (i + 1),
  askQty: 150 * (i + 1),
  bidOrders: i + 1,
  askOrders: i + 2,
  bid: 212.3 - i * 0.05,
  ask: 212.4 + i * 0.05,
}));

describe('Dhan source against the double and the real broker', () => {
  test('every packet type lands in Kafka with the values sent; malformed input goes to the DLQ and the stream goes on', async () => {
    const full = encodeFull(fno, fquote, { oi: 4_500_000, high: 4_600_000, low: 4_400_000 }, depth);
    const nan = encodeTicker(eq, Number.NaN, ltt);
    const bad = {
      truncatedAlone: full.subarray(0, 70),
      unknownAlone: encodeUnknownCode(99, eq, 8),
      unknownAmong: encodeUnknownCode(77, fno, 16),
      oversized: oversize(encodeTicker(eq, 1, ltt), 24),
      truncatedAmong: encodeTicker(eq, 2, ltt).subarray(0, 11),
      truncatedLast: encodeQuote(eq, quote).subarray(0, 30),
    };
    const dbl = await startDhanDouble({
      clientId: '1000000001',
      token: 'test-token',
      expectedInstruments: 3,
      frames: () => [
        Buffer.concat([encodeTicker(eq, 1650.05, ltt), encodeQuote(eq, quote)]),
        bad.truncatedAlone,
        full,
        Buffer.concat([
          encodeOi(fno, 4_500_750),
          encodePrevClose(eq, 1638.4, 0),
          encodeMarketStatus({ segment: 'IDX_I', securityId: 0 }),
        ]),
        bad.unknownAlone,
        Buffer.concat([bad.unknownAmong, encodeTicker(eq, 1650.75, ltt)]),
        Buffer.concat([bad.oversized, encodeTicker(eq, 1650.85, ltt)]),
        Buffer.concat([bad.truncatedAmong, encodeTicker(eq, 1650.95, ltt), encodeOi(fno, 4_500_800)]),
        Buffer.concat([encodeTicker(eq, 1651.0, ltt), bad.truncatedLast]),
        nan,
        encodeTicker({ segment: 'NSE_EQ', securityId: 999 }, 10, ltt),
        encodeTicker(eq, 1651.25, ltt + 1),
      ],
      chain: {
        expiries: ['2026-12-01', '2026-12-08'],
        body: () => ({
          status: 'success',
          data: {
            last_price: 26012.5,
            oc: {
              '26000.000000': {
                ce: {
                  last_price: 120.5,
                  oi: 1_000_000,
                  volume: 5_000_000,
                  top_bid_price: 120.4,
                  top_ask_price: 120.6,
                  top_bid_quantity: 750,
                  top_ask_quantity: 900,
                  implied_volatility: 11.2,
                  security_id: 52175,
                },
                pe: {
                  last_price: 98.25,
                  oi: 1_200_000,
                  volume: 4_000_000,
                  top_bid_price: 98.2,
                  top_ask_price: 98.3,
                  top_bid_quantity: 600,
                  top_ask_quantity: 675,
                  implied_volatility: 12.1,
                  security_id: 52176,
                },
              },
            },
          },
        }),
      },
    });
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'dhan', mode: 'full', optionChainPollSeconds: 3 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: [
        { symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' },
        { symbol: 'NIFTY-FUT', securityId: '43521', segment: 'NSE_FNO', kind: 'future' },
        { symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', optionChain: { expiries: 1, strikes: 10, lotSize: 75 } },
      ],
    });
    const proc = startIngestion({
      ...(await baseEnv(feed, 0, 1, file)),
      DHAN_CLIENT_ID: '1000000001',
      DHAN_ACCESS_TOKEN: 'test-token',
      DHAN_FEED_URL: dbl.feedUrl,
      DHAN_API_URL: dbl.apiUrl,
    });
    try {
      const messages = await consumeAll(BROKERS, rawTopic('itest', feed, 0), 13, 25_000);
      const records = messages.map((m) => raw.decode(m.value));
      const ticks = records.filter((r): r is Extract<RawRecord, { payload: 'tick' }> => r.payload === 'tick').map((r) => r.tick);
      const byId = (id: string): Tick[] => ticks.filter((t) => t.instrument.id === id);
      assert.deepEqual(dbl.subscribeErrors, [], 'subscribe messages follow the protocol');
      assert.equal(dbl.subscribed.length, 3);

      const eqTicks = byId('NSE_EQ:1333');
      assert.deepEqual(
        eqTicks.map((t) => t.lastPrice),
        [1650.05, 1650.55, 1650.55, 1650.75, 1650.85, 1650.95, 1651.0, 1651.25].map(Math.fround),
        'ticker, quote, prev close, and every good ticker among and after the bad packets, each once, in order',
      );
      const q = eqTicks[1] as Tick;
      assert.equal(q.exchangeTimeMs, utc, 'LTT converted from IST to UTC');
      assert.equal(q.lastQuantity, 25);
      assert.equal(q.averagePrice, Math.fround(1648.2));
      assert.equal(q.volume, 1234567);
      assert.equal(q.totalBuyQuantity, 52000);
      assert.equal(q.totalSellQuantity, 40000);
      assert.deepEqual([q.open, q.close, q.high, q.low], [1640.1, 1638.4, 1655.0, 1631.35].map(Math.fround));
      assert.equal(eqTicks[2]?.close, Math.fround(1638.4), 'previous close');
      assert.equal(eqTicks[7]?.exchangeTimeMs, utc + 1000);

      const f = byId('NSE_FNO:43521');
      assert.equal(f.length, 3, 'the full packet and the two OI packets, the one after a truncated packet included');
      assert.equal(f[0]?.lastPrice, Math.fround(212.35));
      assert.equal(f[0]?.openInterest, 4_500_000);
      assert.deepEqual(
        f[0]?.depth,
        depth.map((d) => ({
          bidPrice: Math.fround(d.bid),
          bidQuantity: d.bidQty,
          bidOrders: d.bidOrders,
          askPrice: Math.fround(d.ask),
          askQuantity: d.askQty,
          askOrders: d.askOrders,
        })),
      );
      assert.equal(f[1]?.openInterest, 4_500_750);
      assert.equal(f[2]?.openInterest, 4_500_800);

      const status = records.find((r) => r.payload === 'status');
      assert.equal(status?.payload === 'status' && status.status.segment, 'IDX_I');

      const chain = records.find((r) => r.payload === 'chain');
      assert.ok(chain && chain.payload === 'chain', 'an option chain snapshot from the REST double');
      assert.equal(chain.chain.underlying.id, 'IDX_I:13');
      assert.equal(chain.chain.expiry, '2026-12-01');
      assert.equal(chain.chain.underlyingPrice, 26012.5);
      assert.equal(chain.chain.rows[0]?.call?.instrument.id, 'NSE_FNO:52175');
      assert.equal(chain.chain.rows[0]?.put?.openInterest, 1_200_000);
      assert.ok(!dbl.restCalls.some((c) => c.status === 429), 'the poller stays within one request per 3 s');

      const letters = (await consumeAll(BROKERS, dlqTopic('itest', feed), 8, 15_000)).map((m) => dlq.decode(m.value));
      const why = (l: DeadLetter): string =>
        l.reason
          .split(': ')
          .slice(0, l.reason.startsWith('malformed') ? 2 : 1)
          .join(': ');
      assert.deepEqual(letters.map(why).sort(), [
        'bad-price',
        'malformed: length-past-end',
        'malformed: length-past-end',
        'malformed: misframed',
        'malformed: oversized',
        'malformed: unknown-code',
        'malformed: unknown-code',
        'unknown-instrument',
      ]);
      const payloads = letters.filter((l) => l.reason.startsWith('malformed')).map((l) => Buffer.from(l.payload).toString('hex'));
      assert.deepEqual(
        payloads.sort(),
        Object.values(bad)
          .map((b) => b.toString('hex'))
          .sort(),
        'each bad packet costs exactly its own bytes',
      );
      const nanLetter = letters.find((l) => l.reason.startsWith('bad-price'));
      assert.deepEqual(nanLetter?.payload, nan, 'the DLQ keeps the original bytes');
      assert.equal(nanLetter?.stage, 'ingestion');
      assert.equal(nanLetter?.source, 'dhan');
    } finally {
      proc.child.kill('SIGTERM');
      const code = await proc.exited;
      await dbl.close();
      assert.equal(code, 0, proc.output().slice(-2000));
    }
  });
});
