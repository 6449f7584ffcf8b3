// Dhan's instrument master (api-scrip-master.csv): resolves trading symbols and option contracts
// to security ids (pure parsing; the file is read by the caller).
import type { Segment } from '../../core/messages.ts';

export interface ScripRow {
  segment: Segment;
  securityId: string;
  tradingSymbol: string;
  instrumentName: string;
  /** The underlying's symbol for derivatives (the trading symbol up to the first '-'). */
  underlyingSymbol: string;
  lotSize: number;
  tickSize: number;
  /** YYYY-MM-DD, '' when not a derivative. */
  expiry: string;
  strike: number;
  optionType: 'CE' | 'PE' | '';
}

const SEGMENTS: Record<string, Segment> = {
  'NSE/E': 'NSE_EQ',
  'NSE/D': 'NSE_FNO',
  'NSE/C': 'NSE_CURRENCY',
  'NSE/I': 'IDX_I',
  'BSE/E': 'BSE_EQ',
  'BSE/D': 'BSE_FNO',
  'BSE/C': 'BSE_CURRENCY',
  'BSE/I': 'IDX_I',
  'MCX/M': 'MCX_COMM',
};

/** Splits a CSV line, honouring double-quoted cells. */
export function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cell);
      cell = '';
    } else cell += ch;
  }
  out.push(cell);
  return out;
}

export interface ScripMaster {
  rows: ScripRow[];
  /** Lines that could not be used (unknown exchange/segment, bad id). */
  skipped: number;
  bySymbol(segment: Segment, tradingSymbol: string): ScripRow | undefined;
  option(underlyingSymbol: string, expiry: string, strike: number, type: 'CE' | 'PE'): ScripRow | undefined;
  /** Every option contract (CE and PE) of an underlying in one segment, all expiries and strikes. */
  optionsOf(underlyingSymbol: string, segment: Segment): readonly ScripRow[];
}

const REQUIRED = ['SEM_EXM_EXCH_ID', 'SEM_SEGMENT', 'SEM_SMST_SECURITY_ID', 'SEM_TRADING_SYMBOL'];

export function parseScripMaster(text: string): ScripMaster {
  const lines = text.split(/\r?\n/);
  const header = splitCsv(lines[0] ?? '').map((h) => h.trim());
  for (const col of REQUIRED) {
    if (!header.includes(col)) throw new Error(`scrip master: column ${col} is missing from the header`);
  }
  const col = (name: string): number => header.indexOf(name);
  const c = {
    exch: col('SEM_EXM_EXCH_ID'),
    seg: col('SEM_SEGMENT'),
    id: col('SEM_SMST_SECURITY_ID'),
    sym: col('SEM_TRADING_SYMBOL'),
    name: col('SEM_INSTRUMENT_NAME'),
    lot: col('SEM_LOT_UNITS'),
    tick: col('SEM_TICK_SIZE'),
    expiry: col('SEM_EXPIRY_DATE'),
    strike: col('SEM_STRIKE_PRICE'),
    type: col('SEM_OPTION_TYPE'),
  };
  const rows: ScripRow[] = [];
  let skipped = 0;
  for (const line of lines.slice(1)) {
    if (line.trim() === '') continue;
    const cells = splitCsv(line);
    const at = (i: number): string => (i >= 0 ? (cells[i] ?? '').trim() : '');
    const segment = SEGMENTS[`${at(c.exch)}/${at(c.seg)}`];
    const securityId = at(c.id);
    if (!segment || !/^\d+$/.test(securityId)) {
      skipped++;
      continue;
    }
    const symbol = at(c.sym);
    const type = at(c.type);
    const num = (i: number): number => {
      const n = Number(at(i));
      return Number.isFinite(n) ? n : 0;
    };
    rows.push({
      segment,
      securityId,
      tradingSymbol: symbol,
      instrumentName: at(c.name),
      underlyingSymbol: symbol.split('-')[0] ?? symbol,
      lotSize: num(c.lot),
      tickSize: num(c.tick),
      expiry: /^\d{4}-\d{2}-\d{2}/.test(at(c.expiry)) ? at(c.expiry).slice(0, 10) : '',
      strike: num(c.strike),
      optionType: type === 'CE' || type === 'PE' ? type : '',
    });
  }
  const symbols = new Map<string, ScripRow>();
  const options = new Map<string, ScripRow>();
  const byUnderlying = new Map<string, ScripRow[]>();
  for (const r of rows) {
    symbols.set(`${r.segment}|${r.tradingSymbol}`, r);
    if (r.optionType && r.expiry && r.strike > 0) {
      options.set(`${r.underlyingSymbol}|${r.expiry}|${r.strike}|${r.optionType}`, r);
      const key = `${r.underlyingSymbol}|${r.segment}`;
      const list = byUnderlying.get(key) ?? [];
      list.push(r);
      byUnderlying.set(key, list);
    }
  }
  return {
    rows,
    skipped,
    bySymbol: (segment, tradingSymbol) => symbols.get(`${segment}|${tradingSymbol}`),
    option: (underlyingSymbol, expiry, strike, type) => options.get(`${underlyingSymbol}|${expiry}|${strike}|${type}`),
    optionsOf: (underlyingSymbol, segment) => byUnderlying.get(`${underlyingSymbol}|${segment}`) ?? [],
  };
}
