// Turns decoded Dhan packets into RawRecords (pure): each instrument's latest values are merged,
// so a ticker packet after a quote still carries the day's volume, and an OI or previous-close
// packet publishes the instrument's whole state with the new value.
//
// A tick's key (instrument, exchange time, seq) is derived from the packet alone, never from this
// process's history: during a handover two pods receive the same packets, and storage must see
// the same key from both. Dhan's times are whole seconds, so seq = exchange time in ms × 1000 (the
// second × 10⁶) plus a hash of the packet's bytes below 10⁶. A packet repeated byte for byte
// within one second carries nothing new and keeps one row.
import { type InstrumentMeta, instrumentId, type RawRecord, type Tick } from '../../core/messages.ts';
import { SCHEMA_VERSION } from '../../core/proto.ts';
import { type DhanPacket, istEpochSecondsToUtcMs } from './packet.ts';

/** A live option contract: its ticks carry its meta and are keyed by its underlying (option-feed.ts). */
export interface OptionDescription {
  symbol: string;
  meta: InstrumentMeta;
  key: string;
}

export class DhanState {
  private readonly ticks = new Map<string, Tick>();
  private readonly symbols: ReadonlyMap<string, string>;
  private readonly options: (id: string) => OptionDescription | undefined;

  constructor(symbols: ReadonlyMap<string, string>, options: (id: string) => OptionDescription | undefined = () => undefined) {
    this.symbols = symbols;
    this.options = options;
  }

  /**
   * The record a packet produces, or undefined (disconnect; OI before any price). `bytes` are the
   * packet as received, the content its seq is derived from.
   */
  apply(packet: DhanPacket, receivedMs: number, bytes: Uint8Array): { key: string; record: RawRecord } | undefined {
    const id = instrumentId(packet.segment, packet.securityId);
    if (packet.type === 'disconnect') return undefined;
    if (packet.type === 'marketStatus') {
      return {
        key: id,
        record: {
          schemaVersion: SCHEMA_VERSION,
          payload: 'status',
          status: { segment: packet.segment, state: 'OPEN', timeMs: receivedMs },
        },
      };
    }
    let t = this.ticks.get(id);
    const option = this.options(id);
    if (!t) {
      t = {
        instrument: {
          id,
          symbol: this.symbols.get(id) ?? option?.symbol ?? packet.securityId,
          segment: packet.segment,
          securityId: packet.securityId,
        },
        exchangeTimeMs: 0,
        receivedTimeMs: 0,
        seq: 0,
        lastPrice: 0,
        lastQuantity: 0,
        volume: 0,
        openInterest: 0,
        averagePrice: 0,
        open: 0,
        high: 0,
        low: 0,
        close: 0,
        totalBuyQuantity: 0,
        totalSellQuantity: 0,
        depth: [],
        meta: option?.meta ?? null,
        source: 'dhan',
      };
      this.ticks.set(id, t);
    }
    switch (packet.type) {
      case 'ticker':
        t.lastPrice = packet.ltp;
        t.exchangeTimeMs = istEpochSecondsToUtcMs(packet.ltt);
        break;
      case 'quote':
      case 'full':
        t.lastPrice = packet.ltp;
        t.lastQuantity = packet.ltq;
        t.exchangeTimeMs = istEpochSecondsToUtcMs(packet.ltt);
        t.averagePrice = packet.atp;
        t.volume = packet.volume;
        t.totalSellQuantity = packet.totalSellQuantity;
        t.totalBuyQuantity = packet.totalBuyQuantity;
        t.open = packet.open;
        t.close = packet.close;
        t.high = packet.high;
        t.low = packet.low;
        if (packet.type === 'full') {
          t.openInterest = packet.oi;
          t.depth = packet.depth.map((d) => ({
            bidPrice: d.bidPrice,
            bidQuantity: d.bidQuantity,
            bidOrders: d.bidOrders,
            askPrice: d.askPrice,
            askQuantity: d.askQuantity,
            askOrders: d.askOrders,
          }));
        }
        break;
      case 'oi':
        t.openInterest = packet.oi;
        break;
      case 'prevClose':
        t.close = packet.prevClose;
        break;
    }
    // OI and previous close alone carry no time: they keep the time of the instrument's last
    // trade (not their arrival, which differs between two pods receiving the same packet).
    if ((packet.type === 'oi' || packet.type === 'prevClose') && t.lastPrice === 0) return undefined;
    t.receivedTimeMs = receivedMs;
    t.seq = contentSeq(t.exchangeTimeMs, bytes);
    const key = option?.key ?? id;
    return { key, record: { schemaVersion: SCHEMA_VERSION, payload: 'tick', tick: { ...t, depth: [...t.depth] } } };
  }
}

/** Below 10⁶: the room under a whole second in ms × 1000. */
const SEQ_SPAN = 1_000_000;

/** exchange time (ms) × 1000 plus the packet's FNV-1a hash mod 10⁶: equal packets, equal keys. */
export function contentSeq(exchangeTimeMs: number, bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return Math.floor(exchangeTimeMs / 1000) * 1000 * 1000 + (h % SEQ_SPAN);
}
