// Decoder of the Dhan v2 live market feed's binary responses (pure). Little-endian throughout;
// every packet starts with an 8-byte header: u8 response code, u16 message length, u8 exchange
// segment, u32 security id. Layouts (byte offsets from the start of the packet):
//
//   2 ticker      16 B  8 f32 LTP · 12 u32 LTT
//   4 quote       50 B  8 f32 LTP · 12 u16 LTQ · 14 u32 LTT · 18 f32 ATP · 22 u32 volume ·
//                       26 u32 total sell qty · 30 u32 total buy qty · 34 f32 open · 38 f32 close ·
//                       42 f32 high · 46 f32 low
//   5 OI          12 B  8 u32 open interest
//   6 prev close  16 B  8 f32 previous close · 12 u32 previous OI
//   7 mkt status   8 B  header only
//   8 full       162 B  quote fields to 34, then 34 u32 OI · 38 u32 OI day high · 42 u32 OI day low ·
//                       46 f32 open · 50 f32 close · 54 f32 high · 58 f32 low ·
//                       62 five depth levels of 20 B: u32 bid qty · u32 ask qty · u16 bid orders ·
//                       u16 ask orders · f32 bid price · f32 ask price
//  50 disconnect  10 B  8 u16 reason code (805 too many connections, 806 not subscribed to data
//                       APIs, 807 access token expired, 808 invalid client id, 809 auth failed)
//
// LTT is the exchange's IST wall-clock time written as if it were UTC epoch seconds: the real
// instant is LTT − 5h30m (istEpochSecondsToUtcMs).
//
// The message-length field is checked against the layout's size (the whole packet; the payload
// size without the header is accepted too). Several packets may share one WebSocket message;
// framing.ts splits a message into packets and skips bad bytes.
import { IST_OFFSET_SECONDS } from '../../core/market-time.ts';
import { instrumentId, type Segment } from '../../core/messages.ts';

export const RESPONSE_CODES = {
  ticker: 2,
  quote: 4,
  oi: 5,
  prevClose: 6,
  marketStatus: 7,
  full: 8,
  disconnect: 50,
} as const;

export const PACKET_SIZES: Readonly<Record<number, number>> = { 2: 16, 4: 50, 5: 12, 6: 16, 7: 8, 8: 162, 50: 10 };

export const SEGMENT_BY_CODE: Readonly<Record<number, Segment>> = {
  0: 'IDX_I',
  1: 'NSE_EQ',
  2: 'NSE_FNO',
  3: 'NSE_CURRENCY',
  4: 'BSE_EQ',
  5: 'MCX_COMM',
  7: 'BSE_CURRENCY',
  8: 'BSE_FNO',
};

/** The instrument a packet header names, for the DLQ; an unknown segment code stays visible as a number. */
export function headerInstrumentId(segmentCode: number, securityId: number): string {
  const segment = SEGMENT_BY_CODE[segmentCode];
  return segment ? instrumentId(segment, String(securityId)) : `SEGMENT_${segmentCode}:${securityId}`;
}

/** Dhan's LTT (IST wall clock encoded as epoch seconds) → real UTC epoch milliseconds. */
export function istEpochSecondsToUtcMs(seconds: number): number {
  return (seconds - IST_OFFSET_SECONDS) * 1000;
}

export interface PacketHeader {
  code: number;
  length: number;
  segment: Segment;
  securityId: string;
}

export interface DepthEntry {
  bidQuantity: number;
  askQuantity: number;
  bidOrders: number;
  askOrders: number;
  bidPrice: number;
  askPrice: number;
}

export interface QuoteFields {
  ltp: number;
  ltq: number;
  /** Raw LTT as sent (IST wall clock as epoch seconds). */
  ltt: number;
  atp: number;
  volume: number;
  totalSellQuantity: number;
  totalBuyQuantity: number;
  open: number;
  close: number;
  high: number;
  low: number;
}

export type DhanPacket =
  | (PacketHeader & { type: 'ticker'; ltp: number; ltt: number })
  | (PacketHeader & { type: 'quote' } & QuoteFields)
  | (PacketHeader & { type: 'oi'; oi: number })
  | (PacketHeader & { type: 'prevClose'; prevClose: number; prevOi: number })
  | (PacketHeader & { type: 'marketStatus' })
  | (PacketHeader & { type: 'full'; oi: number; oiDayHigh: number; oiDayLow: number; depth: DepthEntry[] } & QuoteFields)
  | (PacketHeader & { type: 'disconnect'; reason: number });

export interface DecodedPacket {
  packet: DhanPacket;
  bytes: Buffer;
}

export interface MalformedBytes {
  detail: string;
  bytes: Buffer;
  /** "SEGMENT:securityId" when the header could be read. */
  instrumentId: string;
}

export class PacketError extends Error {}

/** Decodes exactly one complete packet. Throws PacketError when it does not follow the layout. */
export function decodePacket(buf: Buffer): DhanPacket {
  if (buf.length < 8) throw new PacketError(`packet of ${buf.length} bytes is shorter than the 8-byte header`);
  const code = buf.readUInt8(0);
  const length = buf.readUInt16LE(1);
  const segCode = buf.readUInt8(3);
  const size = PACKET_SIZES[code];
  if (size === undefined) throw new PacketError(`unknown response code ${code}`);
  const segment = SEGMENT_BY_CODE[segCode];
  if (segment === undefined) throw new PacketError(`unknown exchange segment ${segCode} in a code ${code} packet`);
  if (length !== size && length !== size - 8) {
    throw new PacketError(`code ${code} packet declares length ${length}, the layout is ${size} bytes`);
  }
  if (buf.length < size) throw new PacketError(`code ${code} packet has ${buf.length} bytes, needs ${size}`);
  const h: PacketHeader = { code, length, segment, securityId: String(buf.readUInt32LE(4)) };
  const quote = (): QuoteFields => ({
    ltp: buf.readFloatLE(8),
    ltq: buf.readUInt16LE(12),
    ltt: buf.readUInt32LE(14),
    atp: buf.readFloatLE(18),
    volume: buf.readUInt32LE(22),
    totalSellQuantity: buf.readUInt32LE(26),
    totalBuyQuantity: buf.readUInt32LE(30),
    open: code === 8 ? buf.readFloatLE(46) : buf.readFloatLE(34),
    close: code === 8 ? buf.readFloatLE(50) : buf.readFloatLE(38),
    high: code === 8 ? buf.readFloatLE(54) : buf.readFloatLE(42),
    low: code === 8 ? buf.readFloatLE(58) : buf.readFloatLE(46),
  });
  switch (code) {
    case 2:
      return { ...h, type: 'ticker', ltp: buf.readFloatLE(8), ltt: buf.readUInt32LE(12) };
    case 4:
      return { ...h, type: 'quote', ...quote() };
    case 5:
      return { ...h, type: 'oi', oi: buf.readUInt32LE(8) };
    case 6:
      return { ...h, type: 'prevClose', prevClose: buf.readFloatLE(8), prevOi: buf.readUInt32LE(12) };
    case 7:
      return { ...h, type: 'marketStatus' };
    case 8: {
      const depth: DepthEntry[] = [];
      for (let i = 0; i < 5; i++) {
        const o = 62 + i * 20;
        depth.push({
          bidQuantity: buf.readUInt32LE(o),
          askQuantity: buf.readUInt32LE(o + 4),
          bidOrders: buf.readUInt16LE(o + 8),
          askOrders: buf.readUInt16LE(o + 10),
          bidPrice: buf.readFloatLE(o + 12),
          askPrice: buf.readFloatLE(o + 16),
        });
      }
      return {
        ...h,
        type: 'full',
        ...quote(),
        oi: buf.readUInt32LE(34),
        oiDayHigh: buf.readUInt32LE(38),
        oiDayLow: buf.readUInt32LE(42),
        depth,
      };
    }
    default:
      return { ...h, type: 'disconnect', reason: buf.readUInt16LE(8) };
  }
}
