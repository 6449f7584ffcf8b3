// What the processor does to one raw record, apart from Kafka: decode, validate, normalise,
// enrich, split chains, compute GEX and bars. Outputs depend only on the records and their order
// within a partition, so processing a record again yields the same enriched records.
import {
  type Bar,
  type EnrichedRecord,
  type InstrumentMeta,
  instrumentId,
  type OptionChainSnapshot,
  type RawRecord,
  type Tick,
} from '../core/messages.ts';
import { codec, SCHEMA_VERSION } from '../core/proto.ts';
import type { ShardFile } from '../core/shardfile.ts';
import { BarBuilder, type BarOptions } from './bars.ts';
import { chainMetas, OPTION_TICK_SIZE, type Pricing, splitChain } from './chain.ts';
import { normaliseTime, tickDecimals, timeToExpiryYears, validPrice } from './normalise.ts';
import { isOptionMeta, optionTickQuote, SpotBook } from './option-tick.ts';

export type RejectReason =
  | 'undecodable'
  | 'schema-too-new'
  | 'unknown-instrument'
  | 'invalid-price'
  | 'invalid-time'
  | 'invalid-expiry'
  | 'empty-record';

export interface Rejection {
  reason: RejectReason;
  detail: string;
  instrumentId: string;
  source: string;
}

export interface Output {
  key: string;
  value: EnrichedRecord;
}

export interface RecordResult {
  outputs: Output[];
  rejection?: Rejection;
  ivFailures: number;
  lateTicksDropped: number;
  /** Option ticks that gave no quote: no spot of their underlying seen yet on this partition. */
  optionTicksWithoutSpot: number;
  /** Event time of the record (UTC ms), when it had one. */
  timeMs?: number;
}

const rawCodec = codec<RawRecord>('RawRecord');

interface TickGrid {
  /** Decimal places of the tick size (at most 12, as roundToTick). */
  places: number;
  /** The tick size in units of 10^-places, when that is a whole number (0.05 → 5). */
  units: number | undefined;
}

/** Per tick size seen (tick sizes are few; prices to round are many). */
const grids = new Map<number, TickGrid>();

function gridOf(tickSize: number): TickGrid {
  let g = grids.get(tickSize);
  if (g === undefined) {
    const places = Math.min(tickDecimals(tickSize), 12);
    const units = Math.round(tickSize * 10 ** places);
    g = { places, units: units > 0 && units / 10 ** places === tickSize ? units : undefined };
    grids.set(tickSize, g);
  }
  return g;
}

/**
 * The same number as roundToTick (normalise.ts), which works the decimal places out of the tick
 * size's text and formats the result with toFixed on every call: here the places are looked up, and
 * k ticks become (k × units) / 10^places, one correctly rounded division giving the double nearest
 * the decimal k × tickSize, which is what Number(toFixed(places)) gives. Out of that range (prices
 * of 10^15 units of the last place or more, tick sizes not whole in their last place) it formats as
 * roundToTick does.
 */
function roundPrice(price: number, tickSize: number): number {
  if (!(tickSize > 0) || !Number.isFinite(price)) return price;
  const g = gridOf(tickSize);
  const k = Math.round(price / tickSize);
  if (g.units !== undefined) {
    const scaled = k * g.units;
    // Below 2^50 units the product k × tickSize is within a quarter of the last place of the decimal,
    // so toFixed would pick that decimal too.
    if (Math.abs(scaled) <= 2 ** 50) return scaled / 10 ** g.places + 0; // + 0: no −0, as toFixed
  }
  return Number((k * tickSize).toFixed(g.places));
}

/** Static metadata of the shard's own instruments (underlyings, equities, futures). */
export function instrumentCatalogue(shard: ShardFile): Map<string, InstrumentMeta> {
  const metas = new Map<string, InstrumentMeta>();
  for (const i of shard.instruments) {
    metas.set(instrumentId(i.segment, i.securityId), {
      underlying: '',
      expiry: '',
      strike: 0,
      optionType: 'OPTION_TYPE_UNSPECIFIED',
      lotSize: i.lotSize,
      tickSize: i.tickSize,
    });
  }
  return metas;
}

export class RecordProcessor {
  private readonly instruments: Map<string, InstrumentMeta>;
  /** Option contracts learned from chain snapshots. */
  private readonly contracts = new Map<string, InstrumentMeta>();
  private readonly pricing: Pricing;
  private readonly barOptions: Partial<BarOptions>;
  private readonly bars = new Map<number, BarBuilder>();
  /** The latest spot of each underlying, per partition (option ticks are keyed by their underlying). */
  private readonly spots = new Map<number, SpotBook>();

  constructor(shard: ShardFile, barOptions: Partial<BarOptions> = {}) {
    this.instruments = instrumentCatalogue(shard);
    this.pricing = shard.pricing;
    this.barOptions = barOptions;
  }

  get instrumentCount(): number {
    return this.instruments.size + this.contracts.size;
  }

  /** Processes one Kafka value of partition `partition` at `offset`. */
  process(bytes: Buffer | null, partition: number, offset: number): RecordResult {
    const result: RecordResult = { outputs: [], ivFailures: 0, lateTicksDropped: 0, optionTicksWithoutSpot: 0 };
    const reject = (reason: RejectReason, detail: string, instrumentId = '', source = ''): RecordResult => {
      result.rejection = { reason, detail, instrumentId, source };
      return result;
    };
    if (!bytes || bytes.length === 0) return reject('empty-record', 'record has no value');
    let raw: RawRecord;
    try {
      raw = rawCodec.decode(bytes);
    } catch (err) {
      return reject('undecodable', `not a RawRecord: ${(err as Error).message}`);
    }
    if (raw.schemaVersion > SCHEMA_VERSION) {
      return reject('schema-too-new', `schema version ${raw.schemaVersion} is newer than ${SCHEMA_VERSION}`);
    }
    switch (raw.payload) {
      case 'tick':
        return this.tick(raw.tick, partition, offset, result, reject);
      case 'chain':
        return this.chain(raw.chain, partition, result, reject);
      case 'status': {
        // Market closed for a segment: its bars are complete.
        if (raw.status.state.toUpperCase() === 'CLOSED') {
          const prefix = `${raw.status.segment}:`;
          this.pushBars(
            result,
            this.builder(partition).closeWhere((id) => id.startsWith(prefix)),
          );
        }
        return result;
      }
      case 'gap':
        // An ingestion gap is history too: storage keeps it where users can query it.
        result.outputs.push({
          key: `gap:${raw.gap.shard}`,
          value: { schemaVersion: SCHEMA_VERSION, payload: 'gap', gap: raw.gap },
        });
        return result;
      default:
        return reject('empty-record', 'RawRecord carries no payload');
    }
  }

  /** The offset a restart of `partition` must resume from to rebuild its open bars (undefined: none). */
  oldestOffsetHeld(partition: number): number | undefined {
    return this.bars.get(partition)?.oldestOffsetHeld();
  }

  /** Forgets a partition's bar state (it was revoked: another consumer rebuilds it from the committed offset). */
  dropPartition(partition: number): void {
    this.bars.delete(partition);
    this.spots.delete(partition);
  }

  private spotBook(partition: number): SpotBook {
    let s = this.spots.get(partition);
    if (!s) {
      s = new SpotBook();
      this.spots.set(partition, s);
    }
    return s;
  }

  /**
   * The meta of an option contract streamed live: the tick names its underlying, expiry, strike and
   * right, and the underlying must be one of this shard's (its contracts share the shard's topic).
   */
  private liveContract(tick: Tick): InstrumentMeta | undefined {
    const m = tick.meta;
    if (!isOptionMeta(m) || !this.instruments.has(m.underlying)) return undefined;
    const meta: InstrumentMeta = {
      underlying: m.underlying,
      expiry: m.expiry,
      strike: m.strike,
      optionType: m.optionType,
      lotSize: m.lotSize,
      tickSize: m.tickSize > 0 ? m.tickSize : OPTION_TICK_SIZE,
    };
    this.contracts.set(tick.instrument.id, meta);
    return meta;
  }

  private builder(partition: number): BarBuilder {
    let b = this.bars.get(partition);
    if (!b) {
      b = new BarBuilder(this.barOptions);
      this.bars.set(partition, b);
    }
    return b;
  }

  private pushBars(result: RecordResult, events: ReturnType<BarBuilder['onTick']>): void {
    for (const e of events) {
      if (e.kind === 'emit') result.outputs.push({ key: e.bar.instrumentId, value: barRecord(e.bar) });
      else result.lateTicksDropped += 1;
    }
  }

  private tick(
    tick: Tick,
    partition: number,
    offset: number,
    result: RecordResult,
    reject: (r: RejectReason, d: string, id?: string, src?: string) => RecordResult,
  ): RecordResult {
    const id = tick.instrument?.id ?? '';
    const meta = this.instruments.get(id) ?? this.contracts.get(id) ?? this.liveContract(tick);
    if (!meta) return reject('unknown-instrument', `instrument '${id}' is not in this shard`, id, tick.source);
    if (!validPrice(tick.lastPrice) || tick.lastPrice === 0) {
      return reject('invalid-price', `lastPrice ${tick.lastPrice} is not a positive number`, id, tick.source);
    }
    for (const [name, v] of [
      ['open', tick.open],
      ['high', tick.high],
      ['low', tick.low],
      ['close', tick.close],
      ['averagePrice', tick.averagePrice],
    ] as const) {
      if (!validPrice(v)) return reject('invalid-price', `${name} ${v} is not a price`, id, tick.source);
    }
    const timeMs = normaliseTime(tick.exchangeTimeMs, tick.receivedTimeMs);
    if (timeMs === undefined) return reject('invalid-time', 'neither exchange nor receive time is usable', id, tick.source);
    const ts = meta.tickSize;
    const enriched: Tick = {
      ...tick,
      exchangeTimeMs: timeMs,
      lastPrice: roundPrice(tick.lastPrice, ts),
      averagePrice: roundPrice(tick.averagePrice, ts),
      open: roundPrice(tick.open, ts),
      high: roundPrice(tick.high, ts),
      low: roundPrice(tick.low, ts),
      close: roundPrice(tick.close, ts),
      depth: (tick.depth ?? []).map((d) => ({
        ...d,
        bidPrice: validPrice(d.bidPrice) ? roundPrice(d.bidPrice, ts) : 0,
        askPrice: validPrice(d.askPrice) ? roundPrice(d.askPrice, ts) : 0,
      })),
      meta,
    };
    result.timeMs = timeMs;
    result.outputs.push({ key: id, value: { schemaVersion: SCHEMA_VERSION, payload: 'tick', tick: enriched } });
    this.optionTick(enriched, meta, timeMs, partition, result);
    this.pushBars(
      result,
      this.builder(partition).onTick({
        instrumentId: id,
        timeMs,
        price: enriched.lastPrice,
        cumulativeVolume: tick.volume,
        lastQuantity: tick.lastQuantity,
        openInterest: tick.openInterest,
        offset,
      }),
    );
    return result;
  }

  /** An option contract's tick also becomes its quote (IV, Greeks); any other tick moves its spot. */
  private optionTick(tick: Tick, meta: InstrumentMeta, timeMs: number, partition: number, result: RecordResult): void {
    const book = this.spotBook(partition);
    if (meta.optionType === 'OPTION_TYPE_UNSPECIFIED') {
      book.set(tick.instrument.id, tick.lastPrice, timeMs);
      return;
    }
    if (timeToExpiryYears(meta.expiry, timeMs) === undefined) return;
    const spot = book.get(meta.underlying);
    if (spot === undefined) {
      result.optionTicksWithoutSpot += 1;
      return;
    }
    const quote = optionTickQuote(tick, meta, timeMs, spot, this.pricing);
    if (!quote.ivAvailable) result.ivFailures += 1;
    result.outputs.push({
      key: tick.instrument.id,
      value: { schemaVersion: SCHEMA_VERSION, payload: 'optionQuote', optionQuote: quote },
    });
  }

  private chain(
    chain: OptionChainSnapshot,
    partition: number,
    result: RecordResult,
    reject: (r: RejectReason, d: string, id?: string, src?: string) => RecordResult,
  ): RecordResult {
    const id = chain.underlying?.id ?? '';
    if (!this.instruments.has(id))
      return reject('unknown-instrument', `underlying '${id}' is not in this shard`, id, chain.source);
    if (!validPrice(chain.underlyingPrice) || chain.underlyingPrice === 0) {
      return reject('invalid-price', `underlyingPrice ${chain.underlyingPrice} is not a positive number`, id, chain.source);
    }
    for (const row of chain.rows) {
      if (!(Number.isFinite(row.strike) && row.strike > 0)) {
        return reject('invalid-price', `strike ${row.strike} is not a positive number`, id, chain.source);
      }
      for (const leg of [row.call, row.put]) {
        if (!leg) continue;
        for (const v of [leg.lastPrice, leg.bidPrice, leg.askPrice]) {
          if (!validPrice(v)) {
            return reject('invalid-price', `leg ${leg.instrument?.id ?? '?'} price ${v} is not a price`, id, chain.source);
          }
        }
      }
    }
    const timeMs = normaliseTime(chain.exchangeTimeMs, chain.receivedTimeMs);
    if (timeMs === undefined) return reject('invalid-time', 'neither exchange nor receive time is usable', id, chain.source);
    if (timeToExpiryYears(chain.expiry, timeMs) === undefined) {
      return reject('invalid-expiry', `expiry '${chain.expiry}' is not a YYYY-MM-DD date`, id, chain.source);
    }
    for (const [contract, meta] of chainMetas(chain)) this.contracts.set(contract, meta);
    this.spotBook(partition).set(id, chain.underlyingPrice, timeMs);
    const split = splitChain(chain, timeMs, this.pricing);
    result.timeMs = timeMs;
    result.ivFailures = split.ivFailures;
    for (const q of split.quotes) {
      result.outputs.push({
        key: q.instrument.id,
        value: { schemaVersion: SCHEMA_VERSION, payload: 'optionQuote', optionQuote: q },
      });
    }
    result.outputs.push({ key: id, value: { schemaVersion: SCHEMA_VERSION, payload: 'gex', gex: split.gex } });
    return result;
  }
}

function barRecord(bar: Bar): EnrichedRecord {
  return { schemaVersion: SCHEMA_VERSION, payload: 'bar', bar };
}
