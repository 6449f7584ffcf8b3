import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InstrumentMeta, OptionChainSnapshot, OptionQuote, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec, SCHEMA_VERSION } from '../../../services/core/proto.ts';
import { parseShardFile } from '../../../services/core/shardfile.ts';
import { bsPrice } from '../../../services/ingestion/simulator/black-scholes.ts';
import { timeToExpiryYears } from '../../../services/processor/normalise.ts';
import { SpotBook } from '../../../services/processor/option-tick.ts';
import { type Output, RecordProcessor } from '../../../services/processor/records.ts';

const raw = codec<RawRecord>('RawRecord');
const NOW = Date.parse('2026-11-30T05:00:00Z');
const EXPIRY = '2026-12-08';

function shard() {
  return parseShardFile({
    feed: 'nifty',
    namespace: 'markets',
    shard: 0,
    shardCount: 1,
    source: { type: 'simulator' },
    kafka: {},
    pricing: { riskFreeRate: 0.065, dividendYield: 0.012 },
    instruments: [{ symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', kind: 'index', optionChain: { lotSize: 75 } }],
  });
}

const contractMeta = (strike: number, optionType: 'CALL' | 'PUT', underlying = 'IDX_I:13'): InstrumentMeta => ({
  underlying,
  expiry: EXPIRY,
  strike,
  optionType,
  lotSize: 75,
  tickSize: 0.05,
});

function tick(id: string, price: number, timeMs: number, meta: InstrumentMeta | null, seq = timeMs * 1000): Buffer {
  const [segment, securityId] = id.split(':') as [Tick['instrument']['segment'], string];
  return raw.encode({
    schemaVersion: SCHEMA_VERSION,
    payload: 'tick',
    tick: {
      instrument: { id, symbol: id, segment, securityId },
      exchangeTimeMs: timeMs,
      receivedTimeMs: timeMs,
      seq,
      lastPrice: price,
      lastQuantity: 75,
      volume: 75_000,
      openInterest: 1_500_000,
      averagePrice: price,
      open: price,
      high: price,
      low: price,
      close: price,
      totalBuyQuantity: 0,
      totalSellQuantity: 0,
      depth: [{ bidPrice: price - 0.05, bidQuantity: 75, bidOrders: 1, askPrice: price + 0.05, askQuantity: 150, askOrders: 2 }],
      meta,
      source: 'dhan',
    },
  });
}

const quotes = (outputs: Output[]): OptionQuote[] =>
  outputs.flatMap((o) => (o.value.payload === 'optionQuote' ? [o.value.optionQuote] : []));

describe('option ticks: IV and Greeks per tick on the latest spot', () => {
  test('a live option tick gives the same quote as the chain row of the same price and spot', () => {
    const p = new RecordProcessor(shard());
    const chain: OptionChainSnapshot = {
      underlying: { id: 'IDX_I:13', symbol: 'NIFTY', segment: 'IDX_I', securityId: '13' },
      expiry: EXPIRY,
      exchangeTimeMs: NOW,
      receivedTimeMs: NOW,
      seq: 1,
      underlyingPrice: 26_012.5,
      lotSize: 75,
      rows: [
        {
          strike: 26_000,
          call: {
            instrument: { id: 'NSE_FNO:52175', symbol: 'c', segment: 'NSE_FNO', securityId: '52175' },
            lastPrice: 180.35,
            bidPrice: 180.3,
            askPrice: 180.4,
            bidQuantity: 75,
            askQuantity: 150,
            openInterest: 1_500_000,
            volume: 75_000,
            sourceIv: 0,
          },
          put: null,
        },
      ],
      source: 'dhan',
    };
    const fromChain = quotes(p.process(raw.encode({ schemaVersion: SCHEMA_VERSION, payload: 'chain', chain }), 0, 0).outputs)[0];
    const q = new RecordProcessor(shard());
    assert.deepEqual(quotes(q.process(tick('IDX_I:13', 26_012.5, NOW, null), 0, 0).outputs), [], 'a spot tick has no quote');
    const r = q.process(tick('NSE_FNO:52175', 180.35, NOW, contractMeta(26_000, 'CALL')), 0, 1);
    assert.equal(r.rejection, undefined);
    const fromTick = quotes(r.outputs)[0];
    assert.ok(fromChain && fromTick);
    assert.ok(fromTick.ivAvailable);
    for (const k of [
      'iv',
      'delta',
      'gamma',
      'theta',
      'vega',
      'rho',
      'gex',
      'timeToExpiryYears',
      'underlyingPrice',
      'price',
    ] as const) {
      assert.equal(fromTick[k], fromChain[k], k);
    }
    assert.deepEqual(fromTick.meta, fromChain.meta);
    assert.equal(fromTick.bidPrice, 180.3);
    assert.equal(fromTick.askPrice, 180.4);
    assert.equal(fromTick.seq, NOW * 1000, 'the tick’s own sequence number');
    assert.ok(
      r.outputs.some((o) => o.value.payload === 'tick' && o.value.tick.meta?.optionType === 'CALL'),
      'the tick itself is kept too',
    );
  });

  test('the IV of a tick priced at σ = 15 % is recovered; puts carry negative GEX', () => {
    const p = new RecordProcessor(shard());
    p.process(tick('IDX_I:13', 26_000, NOW, null), 0, 0);
    const t = timeToExpiryYears(EXPIRY, NOW) ?? 0;
    for (const [strike, right] of [
      [26_200, 'CALL'],
      [25_800, 'PUT'],
    ] as const) {
      const price = bsPrice({
        spot: 26_000,
        strike,
        time: t,
        rate: 0.065,
        dividendYield: 0.012,
        volatility: 0.15,
        call: right === 'CALL',
      });
      const q = quotes(
        p.process(tick(`NSE_FNO:${strike}`, Number(price.toFixed(2)), NOW, contractMeta(strike, right)), 0, 1).outputs,
      )[0];
      assert.ok(q?.ivAvailable);
      assert.ok(Math.abs(q.iv - 0.15) < 2e-3, `iv ${q.iv}`);
      assert.equal(Math.sign(q.gex), right === 'CALL' ? 1 : -1);
    }
  });

  test('no spot yet on the partition: the tick is kept and counted, no quote; spots are per partition', () => {
    const p = new RecordProcessor(shard());
    p.process(tick('IDX_I:13', 26_000, NOW, null), 1, 0);
    const r = p.process(tick('NSE_FNO:1', 100, NOW, contractMeta(26_000, 'CALL')), 0, 0);
    assert.equal(r.optionTicksWithoutSpot, 1);
    assert.deepEqual(quotes(r.outputs), []);
    assert.ok(r.outputs.some((o) => o.value.payload === 'tick'));
    p.dropPartition(1);
    assert.equal(p.process(tick('NSE_FNO:1', 100, NOW, contractMeta(26_000, 'CALL')), 1, 1).optionTicksWithoutSpot, 1);
  });

  test('an option tick whose underlying is not in the shard is refused', () => {
    const r = new RecordProcessor(shard()).process(tick('NSE_FNO:2', 100, NOW, contractMeta(26_000, 'PUT', 'IDX_I:25')), 0, 0);
    assert.equal(r.rejection?.reason, 'unknown-instrument');
  });

  test('an older spot never replaces a newer one', () => {
    const b = new SpotBook();
    b.set('X', 100, 2_000);
    b.set('X', 90, 1_000);
    b.set('X', Number.NaN, 3_000);
    assert.equal(b.get('X'), 100);
    b.set('X', 110, 2_000);
    assert.equal(b.get('X'), 110);
  });
});
