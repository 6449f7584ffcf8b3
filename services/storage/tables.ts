// The history tables: one column list per table, used both for the DDL (migrations.ts) and for the
// COPY rows the writer sends, so the two cannot drift. Pure: no I/O.
import type { Bar, EnrichedRecord, GammaExposure, IngestionGap, OptionQuote, Tick } from '../core/messages.ts';

export type TableName = 'ticks' | 'option_quotes' | 'bars_1m' | 'gex';
export const TABLES: readonly TableName[] = ['ticks', 'option_quotes', 'bars_1m', 'gex'];

/** A COPY value: null is SQL NULL; numbers, booleans and strings are written as text. */
export type CopyValue = string | number | boolean | null;

export interface Column {
  name: string;
  type: string;
}

export interface TableSpec {
  name: TableName;
  columns: readonly Column[];
  /** The natural key; it includes the partition column (PostgreSQL requires that on partitions). */
  key: readonly string[];
  /** The time column the table is partitioned by. */
  partitionColumn: string;
}

const c = (name: string, type: string): Column => ({ name, type });

export const TABLE_SPECS: Readonly<Record<TableName, TableSpec>> = {
  ticks: {
    name: 'ticks',
    partitionColumn: 'exchange_time',
    key: ['instrument_id', 'exchange_time', 'seq'],
    columns: [
      c('instrument_id', 'text NOT NULL'),
      c('exchange_time', 'timestamptz NOT NULL'),
      c('seq', 'bigint NOT NULL'),
      c('symbol', 'text NOT NULL'),
      c('received_time', 'timestamptz NOT NULL'),
      c('last_price', 'double precision NOT NULL'),
      c('last_quantity', 'bigint NOT NULL'),
      c('volume', 'bigint NOT NULL'),
      c('open_interest', 'bigint NOT NULL'),
      c('average_price', 'double precision NOT NULL'),
      c('open', 'double precision NOT NULL'),
      c('high', 'double precision NOT NULL'),
      c('low', 'double precision NOT NULL'),
      c('close', 'double precision NOT NULL'),
      c('total_buy_quantity', 'bigint NOT NULL'),
      c('total_sell_quantity', 'bigint NOT NULL'),
      c('depth', 'jsonb'),
      c('underlying_id', "text NOT NULL DEFAULT ''"),
      c('source', 'text NOT NULL'),
    ],
  },
  option_quotes: {
    name: 'option_quotes',
    partitionColumn: 'exchange_time',
    key: ['instrument_id', 'exchange_time', 'seq'],
    columns: [
      c('instrument_id', 'text NOT NULL'),
      c('exchange_time', 'timestamptz NOT NULL'),
      c('seq', 'bigint NOT NULL'),
      c('symbol', 'text NOT NULL'),
      c('underlying_id', 'text NOT NULL'),
      c('expiry', 'date NOT NULL'),
      c('strike', 'double precision NOT NULL'),
      c('option_type', 'text NOT NULL'),
      c('lot_size', 'integer NOT NULL'),
      c('received_time', 'timestamptz NOT NULL'),
      c('underlying_price', 'double precision NOT NULL'),
      c('price', 'double precision NOT NULL'),
      c('bid_price', 'double precision NOT NULL'),
      c('ask_price', 'double precision NOT NULL'),
      c('open_interest', 'bigint NOT NULL'),
      c('volume', 'bigint NOT NULL'),
      c('time_to_expiry_years', 'double precision NOT NULL'),
      c('iv_available', 'boolean NOT NULL'),
      c('iv', 'double precision NOT NULL'),
      c('delta', 'double precision NOT NULL'),
      c('gamma', 'double precision NOT NULL'),
      c('theta', 'double precision NOT NULL'),
      c('vega', 'double precision NOT NULL'),
      c('rho', 'double precision NOT NULL'),
      c('gex', 'double precision NOT NULL'),
    ],
  },
  bars_1m: {
    name: 'bars_1m',
    partitionColumn: 'minute_start',
    key: ['instrument_id', 'minute_start'],
    columns: [
      c('instrument_id', 'text NOT NULL'),
      c('minute_start', 'timestamptz NOT NULL'),
      c('open', 'double precision NOT NULL'),
      c('high', 'double precision NOT NULL'),
      c('low', 'double precision NOT NULL'),
      c('close', 'double precision NOT NULL'),
      c('volume', 'bigint NOT NULL'),
      c('open_interest', 'bigint NOT NULL'),
      c('tick_count', 'integer NOT NULL'),
      c('open_time', 'timestamptz NOT NULL'),
      c('close_time', 'timestamptz NOT NULL'),
      c('volume_cum_start', 'bigint NOT NULL'),
      c('volume_cum_end', 'bigint NOT NULL'),
      c('final', 'boolean NOT NULL'),
    ],
  },
  gex: {
    name: 'gex',
    partitionColumn: 'time',
    key: ['underlying_id', 'expiry', 'time'],
    columns: [
      c('underlying_id', 'text NOT NULL'),
      c('expiry', 'date NOT NULL'),
      c('time', 'timestamptz NOT NULL'),
      c('spot', 'double precision NOT NULL'),
      c('net_gex', 'double precision NOT NULL'),
      c('call_gex', 'double precision NOT NULL'),
      c('put_gex', 'double precision NOT NULL'),
      c('zero_gamma_available', 'boolean NOT NULL'),
      c('zero_gamma_level', 'double precision NOT NULL'),
      c('strikes', 'jsonb NOT NULL'),
    ],
  },
};

/** Instruments seen in the data: resolves symbols to ids and lists a chain's contracts. */
export interface InstrumentRow {
  id: string;
  symbol: string;
  segment: string;
  securityId: string;
  underlyingId: string;
  expiry: string;
  strike: number;
  optionType: string;
}

export class RowError extends Error {}

// Many records of a batch share a timestamp (instruments tick in the same exchange second), and
// Date#toISOString is a large share of building rows: a small direct-mapped cache of the last
// formatted instants costs nothing on a miss.
const ISO_SLOTS = 1024;
const isoKeys = new Float64Array(ISO_SLOTS).fill(-1);
const isoValues: string[] = new Array<string>(ISO_SLOTS).fill('');
const iso = (ms: number, field: string): string => {
  if (!Number.isFinite(ms) || ms <= 0) throw new RowError(`${field} must be a positive epoch in ms, got ${ms}`);
  const slot = (ms ^ (ms / ISO_SLOTS)) & (ISO_SLOTS - 1);
  if (isoKeys[slot] === ms) return isoValues[slot] as string;
  const text = new Date(ms).toISOString();
  isoKeys[slot] = ms;
  isoValues[slot] = text;
  return text;
};
const isoDate = (d: string, field: string): string => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(d)) throw new RowError(`${field} must be YYYY-MM-DD, got '${d}'`);
  return d;
};
const need = (v: string, field: string): string => {
  if (v === '') throw new RowError(`${field} is empty`);
  return v;
};

export function tickRow(t: Tick): CopyValue[] {
  return [
    need(t.instrument.id, 'tick.instrument.id'),
    iso(t.exchangeTimeMs, 'tick.exchange_time_ms'),
    t.seq,
    t.instrument.symbol,
    iso(t.receivedTimeMs || t.exchangeTimeMs, 'tick.received_time_ms'),
    t.lastPrice,
    t.lastQuantity,
    t.volume,
    t.openInterest,
    t.averagePrice,
    t.open,
    t.high,
    t.low,
    t.close,
    t.totalBuyQuantity,
    t.totalSellQuantity,
    t.depth.length > 0 ? JSON.stringify(t.depth) : null,
    t.meta?.underlying ?? '',
    t.source,
  ];
}

export function optionQuoteRow(q: OptionQuote): CopyValue[] {
  return [
    need(q.instrument.id, 'option_quote.instrument.id'),
    iso(q.exchangeTimeMs, 'option_quote.exchange_time_ms'),
    q.seq,
    q.instrument.symbol,
    need(q.meta.underlying, 'option_quote.meta.underlying'),
    isoDate(q.meta.expiry, 'option_quote.meta.expiry'),
    q.meta.strike,
    q.meta.optionType,
    q.meta.lotSize,
    iso(q.receivedTimeMs || q.exchangeTimeMs, 'option_quote.received_time_ms'),
    q.underlyingPrice,
    q.price,
    q.bidPrice,
    q.askPrice,
    q.openInterest,
    q.volume,
    q.timeToExpiryYears,
    q.ivAvailable,
    q.iv,
    q.delta,
    q.gamma,
    q.theta,
    q.vega,
    q.rho,
    q.gex,
  ];
}

export function barRow(b: Bar): CopyValue[] {
  return [
    need(b.instrumentId, 'bar.instrument_id'),
    iso(b.minuteStartMs, 'bar.minute_start_ms'),
    b.open,
    b.high,
    b.low,
    b.close,
    b.volume,
    b.openInterest,
    b.tickCount,
    iso(b.openTimeMs || b.minuteStartMs, 'bar.open_time_ms'),
    iso(b.closeTimeMs || b.minuteStartMs, 'bar.close_time_ms'),
    b.volumeCumStart,
    b.volumeCumEnd,
    b.final,
  ];
}

export function gexRow(g: GammaExposure): CopyValue[] {
  return [
    need(g.underlyingId, 'gex.underlying_id'),
    isoDate(g.expiry, 'gex.expiry'),
    iso(g.timeMs, 'gex.time_ms'),
    g.spot,
    g.netGex,
    g.callGex,
    g.putGex,
    g.zeroGammaAvailable,
    g.zeroGammaLevel,
    JSON.stringify(g.strikes),
  ];
}

/** Rows of one batch, per table, in arrival order, plus the instruments they mention. */
export interface BatchRows {
  ticks: CopyValue[][];
  option_quotes: CopyValue[][];
  bars_1m: CopyValue[][];
  gex: CopyValue[][];
  instruments: Map<string, InstrumentRow>;
  /** Ingestion gaps (gaps.ts), not a history table: a few rows, inserted one by one. */
  gaps: IngestionGap[];
}

export function emptyBatch(): BatchRows {
  return { ticks: [], option_quotes: [], bars_1m: [], gex: [], instruments: new Map(), gaps: [] };
}

export function batchSize(b: BatchRows): number {
  return b.ticks.length + b.option_quotes.length + b.bars_1m.length + b.gex.length + b.gaps.length;
}

/** Adds one enriched record to a batch. Throws RowError on a record no table can hold. */
export function addRecord(batch: BatchRows, r: EnrichedRecord): void {
  switch (r.payload) {
    case 'tick': {
      batch.ticks.push(tickRow(r.tick));
      const i = r.tick.instrument;
      batch.instruments.set(i.id, {
        id: i.id,
        symbol: i.symbol,
        segment: i.segment,
        securityId: i.securityId,
        underlyingId: r.tick.meta?.underlying ?? '',
        expiry: r.tick.meta?.expiry ?? '',
        strike: r.tick.meta?.strike ?? 0,
        optionType: r.tick.meta?.optionType ?? 'OPTION_TYPE_UNSPECIFIED',
      });
      return;
    }
    case 'optionQuote': {
      batch.option_quotes.push(optionQuoteRow(r.optionQuote));
      const q = r.optionQuote;
      batch.instruments.set(q.instrument.id, {
        id: q.instrument.id,
        symbol: q.instrument.symbol,
        segment: q.instrument.segment,
        securityId: q.instrument.securityId,
        underlyingId: q.meta.underlying,
        expiry: q.meta.expiry,
        strike: q.meta.strike,
        optionType: q.meta.optionType,
      });
      return;
    }
    case 'bar':
      batch.bars_1m.push(barRow(r.bar));
      return;
    case 'gex':
      batch.gex.push(gexRow(r.gex));
      return;
    case 'gap':
      batch.gaps.push(r.gap);
      return;
    default:
      throw new RowError(`enriched record has no payload`);
  }
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const escapeChar = (ch: string): string => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r');

/** One value in PostgreSQL COPY text format (tab-separated, \N for NULL, backslash escapes). */
export function copyText(v: CopyValue): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Number.POSITIVE_INFINITY) return 'Infinity';
    if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
    return String(v);
  }
  return NEEDS_ESCAPE.test(v) ? v.replace(ESCAPES, escapeChar) : v;
}

/** Rows as one COPY text payload. */
export function copyLines(rows: readonly CopyValue[][]): string {
  // One growing string, no per-row arrays: V8 concatenates into ropes and flattens once.
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) out += '\t';
      out += copyText(row[i] as CopyValue);
    }
    out += '\n';
  }
  return out;
}
