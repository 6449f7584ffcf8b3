// Property test of the Dhan message framing with fast-check: random interleavings of good packets
// and bad ones (truncated, oversized, unknown code, length below the header, garbage).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { splitMessage } from '../../../services/ingestion/dhan/framing.ts';
import { PACKET_SIZES } from '../../../services/ingestion/dhan/packet.ts';
import {
  encodeFull,
  encodeOi,
  encodePrevClose,
  encodeQuote,
  encodeTicker,
  SEGMENT_CODE,
} from '../../integration/ingestion/dhan-encoder.ts';
import { SCALE, SEED } from '../property-seed.ts';

const NUM_RUNS = 20_000 * SCALE;
const segments = Object.keys(SEGMENT_CODE);
const price = fc.float({ min: 1, max: 100_000, noNaN: true });
// Field values without fast-check's bias to small numbers, as in market data: a run of small
// integers inside a packet can read as packets of its own (see swallowsNext in framing.ts).
const u32 = fc.noBias(fc.nat({ max: 0xffffffff }));
const u16 = fc.noBias(fc.nat({ max: 0xffff }));
const quoteValues = fc.record({
  ltp: price,
  ltq: u16,
  ltt: u32,
  atp: price,
  volume: u32,
  totalSell: u32,
  totalBuy: u32,
  open: price,
  close: price,
  high: price,
  low: price,
});
const depth = fc.array(
  fc.record({
    bidQty: u32,
    askQty: u32,
    bidOrders: u16,
    askOrders: u16,
    bid: price,
    ask: price,
  }),
  { minLength: 5, maxLength: 5 },
);

/** A good packet; its security id is filled in later with its place in the stream. */
type Encode = (securityId: number) => Buffer;
const goodPacket: fc.Arbitrary<Encode> = fc.oneof(
  fc.tuple(fc.constantFrom(...segments), price, u32).map(
    ([segment, ltp, ltt]) =>
      (id: number) =>
        encodeTicker({ segment, securityId: id }, ltp, ltt),
  ),
  fc.tuple(fc.constantFrom(...segments), quoteValues).map(
    ([segment, q]) =>
      (id: number) =>
        encodeQuote({ segment, securityId: id }, q),
  ),
  fc.tuple(fc.constantFrom(...segments), u32).map(
    ([segment, oi]) =>
      (id: number) =>
        encodeOi({ segment, securityId: id }, oi),
  ),
  fc.tuple(fc.constantFrom(...segments), price, u32).map(
    ([segment, pc, poi]) =>
      (id: number) =>
        encodePrevClose({ segment, securityId: id }, pc, poi),
  ),
  fc.tuple(fc.constantFrom(...segments), quoteValues, u32, depth).map(
    ([segment, q, oi, d]) =>
      (id: number) =>
        encodeFull({ segment, securityId: id }, q, { oi, high: oi, low: oi }, d),
  ),
);

const knownCodes = Object.keys(PACKET_SIZES).map(Number);
const bytes = (min: number, max: number): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
const header = (code: number, length: number, segment: number, id: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt16LE(length, 1);
  b.writeUInt8(segment, 3);
  b.writeUInt32LE(id, 4);
  return b;
};
const segmentCode = fc.constantFrom(...Object.values(SEGMENT_CODE));

/**
 * Whether some offset of `b` holds a header of a known code with its layout's length and a known
 * segment: such bytes are a packet, not garbage, and the framing rightly decodes them.
 */
function holdsPacketHeader(b: Buffer): boolean {
  const segments = new Set(Object.values(SEGMENT_CODE));
  for (let k = 0; k < b.length; k++) {
    const size = PACKET_SIZES[b.readUInt8(k)];
    // A header cut by the end of these bytes could be completed by the next packet's.
    if (k + 4 > b.length) {
      if (size !== undefined) return true;
      continue;
    }
    const length = b.readUInt16LE(k + 1);
    if (size !== undefined && (length === size || length === size - 8) && segments.has(b.readUInt8(k + 3))) return true;
  }
  return false;
}

/** Bad bytes, each kind the framing must survive (those that hold a packet header are not bad). */
const badKinds: fc.Arbitrary<{ kind: string; bytes: Buffer }> = fc.oneof(
  fc
    .tuple(goodPacket, fc.integer({ min: 100_000, max: 999_999 }), fc.double({ min: 0, max: 0.999, noNaN: true }))
    .map(([enc, id, f]) => {
      const full = enc(id);
      return { kind: 'truncated', bytes: full.subarray(0, Math.max(1, Math.floor(full.length * f))) };
    }),
  fc.tuple(fc.constantFrom(...knownCodes), segmentCode, u32, bytes(1, 64)).map(([code, seg, id, extra]) => {
    const payload = Buffer.concat([Buffer.alloc((PACKET_SIZES[code] ?? 8) - 8), extra]);
    return { kind: 'oversized', bytes: Buffer.concat([header(code, 8 + payload.length, seg, id), payload]) };
  }),
  fc
    .tuple(
      fc.integer({ min: 0, max: 255 }).filter((c) => PACKET_SIZES[c] === undefined),
      segmentCode,
      u32,
      bytes(0, 200),
    )
    .map(([code, seg, id, payload]) => ({
      kind: 'unknown',
      bytes: Buffer.concat([header(code, 8 + payload.length, seg, id), payload]),
    })),
  fc
    .tuple(fc.constantFrom(...knownCodes), fc.integer({ min: 1, max: 7 }), segmentCode, u32, bytes(0, 40))
    .filter(([code, len]) => len !== (PACKET_SIZES[code] ?? 0) - 8)
    .map(([code, len, seg, id, rest]) => ({ kind: 'below-header', bytes: Buffer.concat([header(code, len, seg, id), rest]) })),
  bytes(1, 40).map((b) => ({ kind: 'garbage', bytes: b })),
);
const badPacket = badKinds.filter((b) => !holdsPacketHeader(b.bytes.subarray(b.kind === 'garbage' ? 0 : 1)));

type Item = { good: Encode } | { bad: { kind: string; bytes: Buffer } };
const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 3, arbitrary: goodPacket.map((good) => ({ good })) },
  { weight: 1, arbitrary: badPacket.map((bad) => ({ bad })) },
);
/**
 * A truncated packet followed by more bytes in its message can read as a whole packet over what
 * follows (its bytes are then genuinely ambiguous), so the property cuts packets short only at the
 * end of a message, as a short read would; the unit tests cover a truncated packet glued to others.
 */
function truncatedLast(message: Item[]): Item[] {
  const keep = message.filter((it) => !('bad' in it) || it.bad.kind !== 'truncated');
  const last = message.findLast((it) => 'bad' in it && it.bad.kind === 'truncated');
  return last ? [...keep, last] : keep;
}

/** WebSocket messages, each one or more packets. */
const stream = fc.array(fc.array(item, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 });

test(`every good packet among bad ones is decoded exactly once and in order (fast-check, numRuns: ${NUM_RUNS})`, () => {
  let executions = 0;
  let badBytes = 0;
  fc.assert(
    fc.property(stream, (messages) => {
      executions += 1;
      // Ids far from small numbers, whose bytes would look like packet headers.
      let next = 100_000;
      const sent: Buffer[] = [];
      const received: Buffer[] = [];
      let malformed = 0;
      let malformedBytes = 0;
      let bad = 0;
      let badSent = 0;
      let garbage = false;
      for (const m of messages) {
        const parts = truncatedLast(m).map((it) => {
          if ('bad' in it) {
            bad += 1;
            badSent += it.bad.bytes.length;
            garbage ||= it.bad.kind === 'garbage';
            return it.bad.bytes;
          }
          const b = it.good(next++);
          sent.push(b);
          return b;
        });
        const r = splitMessage(Buffer.concat(parts));
        for (const p of r.packets) received.push(p.bytes);
        malformed += r.malformed.length;
        malformedBytes += r.malformed.reduce((n, x) => n + x.bytes.length, 0);
      }
      badBytes += malformedBytes;
      assert.deepEqual(received, sent);
      // Bad bytes are never silently lost: exactly they are in the DLQ, one record per bad packet
      // at most (random garbage may hold several length-delimited bad packets of its own).
      assert.equal(malformedBytes, badSent);
      if (bad > 0) assert.ok(malformed > 0);
      if (!garbage) assert.ok(malformed <= bad, `${malformed} DLQ records for ${bad} bad packets`);
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  console.log(
    `fast-check framing property: seed ${SEED}, numRuns ${NUM_RUNS}, executions ${executions}, bad bytes sent to the DLQ ${badBytes}`,
  );
});

test(`any bytes at all: no exception, and the packets and DLQ entries hold exactly the bytes of the message (fast-check, numRuns: ${NUM_RUNS})`, () => {
  let executions = 0;
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    // Mostly real packets with a few bytes flipped: the framing's hard case.
    fc
      .tuple(
        fc.array(goodPacket, { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      )
      .map(([encs, flips]) => {
        const b = Buffer.concat(encs.map((e, i) => e(100_000 + i)));
        for (const [at, v] of flips) b[at % b.length] = v;
        return b;
      }),
  );
  fc.assert(
    fc.property(message, (msg) => {
      executions += 1;
      const r = splitMessage(msg);
      const pieces = [...r.packets.map((p) => p.bytes), ...r.malformed.map((m) => m.bytes)];
      assert.equal(
        pieces.reduce((n, b) => n + b.length, 0),
        msg.length,
      );
      // Packets are whole layouts; every DLQ entry says why.
      for (const p of r.packets) assert.ok(p.bytes.length >= 8);
      for (const m of r.malformed) assert.match(m.detail, /^[a-z-]+: /);
    }),
    { numRuns: NUM_RUNS, seed: SEED },
  );
  console.log(`fast-check framing of arbitrary bytes: seed ${SEED}, numRuns ${NUM_RUNS}, executions ${executions}`);
});
