// Parsing of recorded ticks (JSON Lines and CSV), one line at a time (pure). The format is
// documented in FORMAT.md.
import { instrumentId, type RawRecord, type Segment } from '../../core/messages.ts';
import { SCHEMA_VERSION } from '../../core/proto.ts';
import { segmentSchema } from '../../core/shardfile.ts';

export type ReplayFormat = 'jsonl' | 'csv';

export type ParsedLine =
  | { kind: 'skip' }
  | { kind: 'record'; key: string; timeMs: number; record: RawRecord }
  | { kind: 'error'; detail: string; instrumentId: string };

type Fields = Record<string, string | number | undefined>;

export function formatOf(path: string, declared?: ReplayFormat): ReplayFormat {
  if (declared) return declared;
  return /\.csv$/i.test(path) ? 'csv' : 'jsonl';
}

/** Splits a CSV header line into column names. */
export function csvHeader(line: string): string[] {
  return line.split(',').map((c) => c.trim());
}

function parseTime(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (/^\d+$/.test(v)) return Number(v);
  // ISO 8601 with an explicit offset or Z: a time without a zone is ambiguous and refused.
  if (!/(Z|[+-]\d{2}:?\d{2})$/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

function num(fields: Fields, name: string, required: boolean): number | string {
  const v = fields[name];
  if (v === undefined || v === '') return required ? `missing ${name}` : 0;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return `${name} '${v}' is not a number`;
  return n;
}

function toRecord(fields: Fields): ParsedLine {
  let id = typeof fields.instrumentId === 'string' ? fields.instrumentId : '';
  let segment: Segment | undefined;
  let securityId = '';
  if (id) {
    const [seg, sec] = id.split(':');
    const parsed = segmentSchema.safeParse(seg);
    if (!parsed.success || !sec || !/^\d+$/.test(sec))
      return { kind: 'error', detail: `instrumentId '${id}' is not SEGMENT:digits`, instrumentId: id };
    segment = parsed.data;
    securityId = sec;
  } else {
    const parsed = segmentSchema.safeParse(fields.segment);
    const sec = String(fields.securityId ?? '');
    if (!parsed.success || !/^\d+$/.test(sec)) {
      return { kind: 'error', detail: 'neither instrumentId nor a valid segment + securityId', instrumentId: '' };
    }
    segment = parsed.data;
    securityId = sec;
    id = instrumentId(segment, securityId);
  }
  const timeMs = parseTime(fields.time);
  if (timeMs === undefined) {
    return {
      kind: 'error',
      detail: `time '${fields.time ?? ''}' is neither epoch ms nor ISO 8601 with a zone`,
      instrumentId: id,
    };
  }
  const values: Record<string, number> = {};
  for (const [name, required] of [
    ['price', true],
    ['quantity', false],
    ['volume', false],
    ['oi', false],
    ['bid', false],
    ['ask', false],
    ['bidQty', false],
    ['askQty', false],
    ['open', false],
    ['high', false],
    ['low', false],
    ['close', false],
  ] as const) {
    const v = num(fields, name, required);
    if (typeof v === 'string') return { kind: 'error', detail: v, instrumentId: id };
    values[name] = v;
  }
  const v = (k: string): number => values[k] ?? 0;
  const hasDepth = v('bid') > 0 || v('ask') > 0;
  const record: RawRecord = {
    schemaVersion: SCHEMA_VERSION,
    payload: 'tick',
    tick: {
      instrument: { id, symbol: String(fields.symbol ?? '') || securityId, segment, securityId },
      exchangeTimeMs: timeMs,
      receivedTimeMs: timeMs,
      seq: 0,
      lastPrice: v('price'),
      lastQuantity: Math.trunc(v('quantity')),
      volume: Math.trunc(v('volume')),
      openInterest: Math.trunc(v('oi')),
      averagePrice: 0,
      open: v('open'),
      high: v('high'),
      low: v('low'),
      close: v('close'),
      totalBuyQuantity: 0,
      totalSellQuantity: 0,
      depth: hasDepth
        ? [
            {
              bidPrice: v('bid'),
              bidQuantity: Math.trunc(v('bidQty')),
              bidOrders: 0,
              askPrice: v('ask'),
              askQuantity: Math.trunc(v('askQty')),
              askOrders: 0,
            },
          ]
        : [],
      meta: null,
      source: 'replay',
    },
  };
  return { kind: 'record', key: id, timeMs, record };
}

/** Parses one line. `header` is the CSV header (undefined for JSON Lines). */
export function parseLine(line: string, format: ReplayFormat, header?: readonly string[]): ParsedLine {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return { kind: 'skip' };
  if (format === 'jsonl') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return { kind: 'error', detail: `not JSON: ${(err as Error).message}`, instrumentId: '' };
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return { kind: 'error', detail: 'a line must be a JSON object', instrumentId: '' };
    }
    const fields: Fields = {};
    for (const [k, val] of Object.entries(json)) {
      if (typeof val === 'string' || typeof val === 'number') fields[k] = val;
    }
    return toRecord(fields);
  }
  if (!header) return { kind: 'error', detail: 'CSV line before the header', instrumentId: '' };
  const cells = text.split(',');
  if (cells.length !== header.length) {
    return { kind: 'error', detail: `CSV line has ${cells.length} cells, the header has ${header.length}`, instrumentId: '' };
  }
  const fields: Fields = {};
  header.forEach((name, i) => {
    fields[name] = cells[i]?.trim();
  });
  return toRecord(fields);
}
