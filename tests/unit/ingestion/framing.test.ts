import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { splitMessage } from '../../../services/ingestion/dhan/framing.ts';
import { encodeFull, encodeOi, encodeQuote, encodeTicker } from '../../integration/ingestion/dhan-encoder.ts';

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
const ticker = (ltp: number): Buffer => encodeTicker(h, ltp, 1795673700);
const ltps = (r: ReturnType<typeof splitMessage>): number[] =>
  r.packets.map((p) => (p.packet.type === 'ticker' ? p.packet.ltp : -1));
const faults = (r: ReturnType<typeof splitMessage>): string[] => r.malformed.map((m) => m.detail.split(':')[0] ?? '');

describe('Dhan message framing', () => {
  test('several packets in one message are all decoded, in order', () => {
    const r = splitMessage(Buffer.concat([ticker(1), encodeQuote(h, quote), encodeOi(h, 5)]));
    assert.deepEqual(
      r.packets.map((p) => p.packet.type),
      ['ticker', 'quote', 'oi'],
    );
    assert.equal(r.malformed.length, 0);
  });

  test('a length that runs past the message end costs only the rest of that message', () => {
    const truncated = encodeQuote(h, quote).subarray(0, 30);
    const r = splitMessage(Buffer.concat([ticker(1), truncated]));
    assert.deepEqual(ltps(r), [1]);
    assert.deepEqual(faults(r), ['length-past-end']);
    assert.deepEqual(r.malformed[0]?.bytes, truncated);
    assert.equal(r.malformed[0]?.instrumentId, 'NSE_EQ:1333');
    // Nothing is carried over: the next message decodes on its own.
    assert.deepEqual(ltps(splitMessage(ticker(2))), [2]);
  });

  test('a truncated packet glued to good ones costs exactly its own bytes', () => {
    const truncated = ticker(9).subarray(0, 11);
    const r = splitMessage(Buffer.concat([ticker(1), truncated, ticker(2), ticker(3)]));
    assert.deepEqual(ltps(r), [1, 2, 3]);
    assert.deepEqual(faults(r), ['misframed']);
    assert.deepEqual(r.malformed[0]?.bytes, truncated);
  });

  test('a length below the header costs the bytes up to the next good packet', () => {
    const bad = ticker(9);
    bad.writeUInt16LE(3, 1);
    const r = splitMessage(Buffer.concat([bad, ticker(2)]));
    assert.deepEqual(ltps(r), [2]);
    assert.deepEqual(faults(r), ['length-below-header']);
    assert.equal(r.malformed[0]?.bytes.length, 16);
  });

  test('an unknown code with a plausible length is skipped by exactly that length', () => {
    const unknown = Buffer.alloc(24, 0xee);
    unknown.writeUInt8(99, 0);
    unknown.writeUInt16LE(24, 1);
    unknown.writeUInt8(1, 3);
    unknown.writeUInt32LE(77, 4);
    const r = splitMessage(Buffer.concat([ticker(1), unknown, ticker(2)]));
    assert.deepEqual(ltps(r), [1, 2]);
    assert.deepEqual(faults(r), ['unknown-code']);
    assert.deepEqual(r.malformed[0]?.bytes, unknown);
    assert.equal(r.malformed[0]?.instrumentId, 'NSE_EQ:77');
  });

  test('an oversized packet is skipped by its declared length', () => {
    const over = Buffer.concat([ticker(9), Buffer.alloc(20, 0xab)]);
    over.writeUInt16LE(36, 1);
    const r = splitMessage(Buffer.concat([over, ticker(2)]));
    assert.deepEqual(ltps(r), [2]);
    assert.deepEqual(faults(r), ['oversized']);
    assert.equal(r.malformed[0]?.bytes.length, 36);
  });

  test('an unknown segment, an undersized length and a short tail are each one DLQ entry', () => {
    const seg = ticker(9);
    seg.writeUInt8(6, 3);
    const under = Buffer.concat([ticker(9).subarray(0, 12)]);
    under.writeUInt16LE(12, 1);
    const r = splitMessage(Buffer.concat([seg, ticker(1), under, ticker(2), Buffer.from([2, 16, 0])]));
    assert.deepEqual(ltps(r), [1, 2]);
    assert.deepEqual(faults(r), ['unknown-segment', 'undersized', 'truncated-header']);
  });

  test('a packet followed by garbage is kept; the garbage is one entry', () => {
    const r = splitMessage(Buffer.concat([ticker(1), Buffer.from([0xff, 0xfe, 0xfd])]));
    assert.deepEqual(ltps(r), [1]);
    assert.deepEqual(faults(r), ['truncated-header']);
  });

  test('a full packet whose insides read as a market-status packet is kept when a stray byte follows it', () => {
    // Found by the framing property test (fast-check seed -1116910056): ltq 0x0700 and ltt 0x4108
    // put "07 00 00 08 41 00 00 00" at offset 17 — a code 7 header with a known segment — and the
    // bytes after it read as an unknown-code header, so the 162 bytes looked like a truncated packet
    // glued to a market-status packet, and went to the DLQ with the stray byte.
    const full = Buffer.from(
      '08a20000a08601000000803f0000000000070000084100000000080057d8000000000000000000000000000000000000803f' +
        '0000803f0000803f0000803f0000000000000000000000000000803f0000803f0000000000000000000000000000803f' +
        '0000803f0000000000000000000000000000803f0000803f0000000000000000000000000000803f0000803f00000000' +
        '00000000000000000000803f0000803f',
      'hex',
    );
    assert.equal(full.length, 162);
    const r = splitMessage(Buffer.concat([full, Buffer.from([0x04])]));
    assert.deepEqual(
      r.packets.map((p) => p.bytes),
      [full],
    );
    assert.deepEqual(faults(r), ['truncated-header']);
  });

  test('a truncated full packet glued to several good ones costs only its own bytes', () => {
    const depth = [0, 1, 2, 3, 4].map((i) => ({
      bidQty: 75,
      askQty: 150,
      bidOrders: 3,
      askOrders: 4,
      bid: 212 - i,
      ask: 213 + i,
    }));
    const truncated = encodeFull({ segment: 'NSE_FNO', securityId: 43521 }, quote, { oi: 9, high: 9, low: 9 }, depth).subarray(
      0,
      100,
    );
    const r = splitMessage(Buffer.concat([truncated, ticker(1), encodeQuote(h, quote), ticker(2), ticker(3)]));
    assert.deepEqual(ltps(r), [1, -1, 2, 3], 'the ticker, the quote (-1) and two more tickers');
    assert.deepEqual(faults(r), ['misframed']);
    assert.deepEqual(r.malformed[0]?.bytes, truncated);
  });

  test('a message of good packets is taken whole, even when their insides look like packets', () => {
    // Security id 7 writes 07 00 00 00: a market-status header inside the OI packet.
    const oi = encodeOi({ segment: 'IDX_I', securityId: 7 }, 0);
    const r = splitMessage(Buffer.concat([oi, ticker(1)]));
    assert.deepEqual(
      r.packets.map((p) => p.packet.type),
      ['oi', 'ticker'],
    );
    assert.equal(r.malformed.length, 0);
  });
});
