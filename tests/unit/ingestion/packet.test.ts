import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodePacket, istEpochSecondsToUtcMs } from '../../../services/ingestion/dhan/packet.ts';
import {
  encodeDisconnect,
  encodeFull,
  encodeMarketStatus,
  encodeOi,
  encodePrevClose,
  encodeQuote,
  encodeTicker,
} from '../../integration/ingestion/dhan-encoder.ts';

const h = { segment: 'NSE_EQ', securityId: 1333 };
const quote = {
  ltp: 1650.55,
  ltq: 25,
  ltt: 1795673700,
  atp: 1648.2,
  volume: 1234567,
  totalSell: 40000,
  totalBuy: 52000,
  open: 1640.1,
  close: 1638.4,
  high: 1655.0,
  low: 1631.35,
};
const depth = [0, 1, 2, 3, 4].map((i) => ({
  bidQty: 100 + i,
  askQty: 200 + i,
  bidOrders: 3 + i,
  askOrders: 7 + i,
  bid: 1650.5 - i * 0.05,
  ask: 1650.6 + i * 0.05,
}));

describe('Dhan packet decoder', () => {
  test('a ticker packet decodes to its float32 LTP and raw LTT', () => {
    const p = decodePacket(encodeTicker(h, 1650.55, 1795673700));
    assert.equal(p.type, 'ticker');
    assert.equal(p.segment, 'NSE_EQ');
    assert.equal(p.securityId, '1333');
    if (p.type !== 'ticker') return;
    assert.equal(p.ltp, Math.fround(1650.55));
    assert.equal(p.ltt, 1795673700);
  });

  test('a quote packet decodes every field at its documented offset', () => {
    const p = decodePacket(encodeQuote(h, quote));
    assert.equal(p.type, 'quote');
    if (p.type !== 'quote') return;
    assert.equal(p.ltp, Math.fround(quote.ltp));
    assert.equal(p.ltq, 25);
    assert.equal(p.ltt, quote.ltt);
    assert.equal(p.atp, Math.fround(quote.atp));
    assert.equal(p.volume, quote.volume);
    assert.equal(p.totalSellQuantity, 40000);
    assert.equal(p.totalBuyQuantity, 52000);
    assert.equal(p.open, Math.fround(quote.open));
    assert.equal(p.close, Math.fround(quote.close));
    assert.equal(p.high, Math.fround(quote.high));
    assert.equal(p.low, Math.fround(quote.low));
  });

  test('a full packet decodes OI and five depth levels', () => {
    const p = decodePacket(
      encodeFull({ segment: 'NSE_FNO', securityId: 43521 }, quote, { oi: 987654, high: 990000, low: 950000 }, depth),
    );
    assert.equal(p.type, 'full');
    if (p.type !== 'full') return;
    assert.equal(p.segment, 'NSE_FNO');
    assert.equal(p.oi, 987654);
    assert.equal(p.oiDayHigh, 990000);
    assert.equal(p.oiDayLow, 950000);
    assert.equal(p.open, Math.fround(quote.open));
    assert.equal(p.low, Math.fround(quote.low));
    assert.equal(p.depth.length, 5);
    assert.deepEqual(p.depth[4], {
      bidQuantity: 104,
      askQuantity: 204,
      bidOrders: 7,
      askOrders: 11,
      bidPrice: Math.fround(1650.5 - 0.2),
      askPrice: Math.fround(1650.6 + 0.2),
    });
  });

  test('OI, previous close, market status and disconnect packets decode', () => {
    const oi = decodePacket(encodeOi(h, 4242));
    assert.equal(oi.type === 'oi' && oi.oi, 4242);
    const pc = decodePacket(encodePrevClose(h, 1638.4, 777));
    assert.ok(pc.type === 'prevClose');
    assert.equal(pc.prevClose, Math.fround(1638.4));
    assert.equal(pc.prevOi, 777);
    assert.equal(decodePacket(encodeMarketStatus({ segment: 'IDX_I', securityId: 0 })).type, 'marketStatus');
    const d = decodePacket(encodeDisconnect(h, 807));
    assert.equal(d.type === 'disconnect' && d.reason, 807);
  });

  test('LTT (IST wall clock as epoch seconds) converts to UTC by subtracting 5h30m', () => {
    // 2026-11-26 09:15:00 IST written as if UTC.
    const ltt = Date.parse('2026-11-26T09:15:00Z') / 1000;
    assert.equal(new Date(istEpochSecondsToUtcMs(ltt)).toISOString(), '2026-11-26T03:45:00.000Z');
  });
});
