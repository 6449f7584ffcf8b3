// The TypeScript shapes in services/core/messages.ts must match proto/: a fully populated value of
// each type survives a protobuf round trip with exactly the same fields.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  Bar,
  DeadLetter,
  GammaExposure,
  InstrumentMeta,
  InstrumentRef,
  OptionChainSnapshot,
  OptionQuote,
  RawRecord,
  ShardStatus,
  Tick,
} from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';

const ref: Required<InstrumentRef> = {
  id: 'NSE_FNO:43521',
  symbol: 'NIFTY 26NOV 24000 CE',
  segment: 'NSE_FNO',
  securityId: '43521',
};
const meta: Required<InstrumentMeta> = {
  underlying: 'IDX_I:13',
  expiry: '2026-11-26',
  strike: 24000,
  optionType: 'CALL',
  lotSize: 75,
  tickSize: 0.05,
};
const tick: Required<Tick> = {
  instrument: ref,
  exchangeTimeMs: 1_795_000_000_000,
  receivedTimeMs: 1_795_000_000_010,
  seq: 7,
  lastPrice: 101.5,
  lastQuantity: 75,
  volume: 1_500,
  openInterest: 30_000,
  averagePrice: 100.25,
  open: 99,
  high: 103,
  low: 98.5,
  close: 97,
  totalBuyQuantity: 4_000,
  totalSellQuantity: 5_000,
  depth: [{ bidPrice: 101.45, bidQuantity: 150, bidOrders: 2, askPrice: 101.55, askQuantity: 75, askOrders: 1 }],
  meta,
  source: 'simulator',
};
const quote: Required<OptionQuote> = {
  instrument: ref,
  meta,
  exchangeTimeMs: 1,
  receivedTimeMs: 2,
  seq: 3,
  underlyingPrice: 24010,
  price: 120,
  bidPrice: 119.5,
  askPrice: 120.5,
  openInterest: 10,
  volume: 20,
  timeToExpiryYears: 0.01,
  ivAvailable: true,
  iv: 0.13,
  delta: 0.52,
  gamma: 0.0004,
  theta: -9.5,
  vega: 8.1,
  rho: 1.2,
  gex: 123456,
};
const bar: Required<Bar> = {
  instrumentId: 'IDX_I:13',
  minuteStartMs: 60_000,
  open: 1,
  high: 2,
  low: 0.5,
  close: 1.5,
  volume: 10,
  openInterest: 5,
  tickCount: 4,
  openTimeMs: 60_001,
  closeTimeMs: 119_000,
  volumeCumStart: 100,
  volumeCumEnd: 110,
  final: true,
};
const gex: Required<GammaExposure> = {
  underlyingId: 'IDX_I:13',
  expiry: '2026-11-26',
  timeMs: 1,
  spot: 24000,
  netGex: -5,
  callGex: 10,
  putGex: -15,
  zeroGammaAvailable: true,
  zeroGammaLevel: 24100,
  strikes: [{ strike: 24000, callGex: 10, putGex: -15 }],
};
const chain: Required<OptionChainSnapshot> = {
  underlying: { id: 'IDX_I:13', symbol: 'NIFTY', segment: 'IDX_I', securityId: '13' },
  expiry: '2026-11-26',
  exchangeTimeMs: 1,
  receivedTimeMs: 2,
  seq: 3,
  underlyingPrice: 24000,
  lotSize: 75,
  rows: [
    {
      strike: 24000,
      call: {
        instrument: ref,
        lastPrice: 1,
        bidPrice: 1,
        askPrice: 2,
        bidQuantity: 3,
        askQuantity: 4,
        openInterest: 5,
        volume: 6,
        sourceIv: 13,
      },
      put: {
        instrument: ref,
        lastPrice: 1,
        bidPrice: 1,
        askPrice: 2,
        bidQuantity: 3,
        askQuantity: 4,
        openInterest: 5,
        volume: 6,
        sourceIv: 14,
      },
    },
  ],
  source: 'dhan',
};
const status: Required<ShardStatus> = {
  feed: 'nifty',
  namespace: 'markets',
  component: 'ingestion',
  shardIndex: 1,
  shardCount: 4,
  instruments: 212,
  ticksPerSecond: 1800,
  lastTickMs: 5,
  connectionState: 'CONNECTED',
  lag: 0,
  errors: 0,
};
const dead: Required<DeadLetter> = {
  schemaVersion: 1,
  stage: 'ingestion',
  reason: 'negative price',
  source: 'dhan',
  instrumentId: 'NSE_EQ:1333',
  payload: Buffer.from([1, 2, 3]),
  timeMs: 9,
  originTopic: 't',
  originPartition: 2,
  originOffset: '42',
};

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const cases: [string, unknown][] = [
  ['Tick', tick],
  ['OptionQuote', quote],
  ['Bar', bar],
  ['GammaExposure', gex],
  ['OptionChainSnapshot', chain],
  ['ShardStatus', status],
  ['DeadLetter', dead],
];

describe('TypeScript message shapes match proto/', () => {
  for (const [name, value] of cases) {
    test(`${name} round-trips with exactly the same fields`, () => {
      const c = codec<unknown>(name);
      assert.deepEqual(sortedKeys(c.decode(c.encode(value))), sortedKeys(value));
    });
  }

  test('a RawRecord carries its payload kind', () => {
    const c = codec<RawRecord>('RawRecord');
    const decoded = c.decode(c.encode({ schemaVersion: 1, payload: 'tick', tick }));
    assert.equal(decoded.payload, 'tick');
    assert.equal(decoded.schemaVersion, 1);
  });

  test('garbage bytes are refused, not decoded into zeros', () => {
    const c = codec<RawRecord>('RawRecord');
    assert.throws(() => c.decode(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])));
  });
});
