// Encoder of Dhan v2 live-feed response packets, written from the documented layout (not from
// our decoder), for the Dhan test double and decoder tests. Little-endian; 8-byte header:
// u8 response code, u16 message length (the whole packet), u8 exchange segment, u32 security id.

export const SEGMENT_CODE: Record<string, number> = {
  IDX_I: 0,
  NSE_EQ: 1,
  NSE_FNO: 2,
  NSE_CURRENCY: 3,
  BSE_EQ: 4,
  MCX_COMM: 5,
  BSE_CURRENCY: 7,
  BSE_FNO: 8,
};

export interface Head {
  segment: string;
  securityId: number;
}

export interface QuoteValues {
  ltp: number;
  ltq: number;
  ltt: number;
  atp: number;
  volume: number;
  totalSell: number;
  totalBuy: number;
  open: number;
  close: number;
  high: number;
  low: number;
}

export interface DepthValues {
  bidQty: number;
  askQty: number;
  bidOrders: number;
  askOrders: number;
  bid: number;
  ask: number;
}

class Writer {
  readonly buf: Buffer;
  private at = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u8(v: number): this {
    this.buf.writeUInt8(v, this.at);
    this.at += 1;
    return this;
  }
  u16(v: number): this {
    this.buf.writeUInt16LE(v, this.at);
    this.at += 2;
    return this;
  }
  u32(v: number): this {
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
    return this;
  }
  f32(v: number): this {
    this.buf.writeFloatLE(v, this.at);
    this.at += 4;
    return this;
  }
  done(): Buffer {
    if (this.at !== this.buf.length) throw new Error(`encoder wrote ${this.at} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

function header(code: number, size: number, h: Head): Writer {
  const seg = SEGMENT_CODE[h.segment];
  if (seg === undefined) throw new Error(`unknown segment ${h.segment}`);
  return new Writer(size).u8(code).u16(size).u8(seg).u32(h.securityId);
}

export const encodeTicker = (h: Head, ltp: number, ltt: number): Buffer => header(2, 16, h).f32(ltp).u32(ltt).done();

export const encodeQuote = (h: Head, q: QuoteValues): Buffer =>
  header(4, 50, h)
    .f32(q.ltp)
    .u16(q.ltq)
    .u32(q.ltt)
    .f32(q.atp)
    .u32(q.volume)
    .u32(q.totalSell)
    .u32(q.totalBuy)
    .f32(q.open)
    .f32(q.close)
    .f32(q.high)
    .f32(q.low)
    .done();

export const encodeOi = (h: Head, oi: number): Buffer => header(5, 12, h).u32(oi).done();

export const encodePrevClose = (h: Head, prevClose: number, prevOi: number): Buffer =>
  header(6, 16, h).f32(prevClose).u32(prevOi).done();

export const encodeMarketStatus = (h: Head): Buffer => header(7, 8, h).done();

export function encodeFull(h: Head, q: QuoteValues, oi: { oi: number; high: number; low: number }, depth: DepthValues[]): Buffer {
  const w = header(8, 162, h)
    .f32(q.ltp)
    .u16(q.ltq)
    .u32(q.ltt)
    .f32(q.atp)
    .u32(q.volume)
    .u32(q.totalSell)
    .u32(q.totalBuy)
    .u32(oi.oi)
    .u32(oi.high)
    .u32(oi.low)
    .f32(q.open)
    .f32(q.close)
    .f32(q.high)
    .f32(q.low);
  if (depth.length !== 5) throw new Error('full packets carry exactly 5 depth levels');
  for (const d of depth) w.u32(d.bidQty).u32(d.askQty).u16(d.bidOrders).u16(d.askOrders).f32(d.bid).f32(d.ask);
  return w.done();
}

export const encodeDisconnect = (h: Head, reason: number): Buffer => header(50, 10, h).u16(reason).done();

// Bad packets, for the framing tests: Dhan must never send them, but a decoder must survive them.

/** A packet of a response code Dhan does not document, with a length that delimits it. */
export function encodeUnknownCode(code: number, h: Head, payloadBytes: number): Buffer {
  const w = header(code, 8 + payloadBytes, h);
  for (let i = 0; i < payloadBytes; i++) w.u8(0xee);
  return w.done();
}

/** A packet with `extra` bytes after its layout, its length field counting them. */
export function oversize(packet: Buffer, extra: number): Buffer {
  const out = Buffer.concat([packet, Buffer.alloc(extra, 0xab)]);
  out.writeUInt16LE(out.length, 1);
  return out;
}
