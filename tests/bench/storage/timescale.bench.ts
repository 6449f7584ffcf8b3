// TimescaleDB figures of storage (needs a server that preloads TimescaleDB):
//  - write: our writer into the ticks hypertable against a raw COPY into the same hypertable (other
//    instruments, so no row collides), interleaved transaction by transaction. Target ratio ≥ 0.9.
//  - compression: a simulated trading day of ticks (random-walk prices, 375 minutes) before and after
//    compressing its chunks (hypertable_compression_stats).
//  - reads: GetBars of one instrument over a day of 1-minute bars, and the same day as 15-minute bars
//    from the continuous aggregate (materialised, as after the refresh job ran); median of many calls.
// Writes .local/bench/storage-timescale.json.
//   node tests/bench/storage/timescale.bench.ts [rows]   (DATABASE_URL, default the local one)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createLogger } from '../../../services/core/log.ts';
import type { Bar, EnrichedRecord } from '../../../services/core/messages.ts';
import { MAX_ROWS_PER_TRANSACTION } from '../../../services/storage/consumer.ts';
import { createPool } from '../../../services/storage/database.ts';
import { migrate, qualified } from '../../../services/storage/migrations.ts';
import { HistoryReader } from '../../../services/storage/queries.ts';
import { parseBarsRequest } from '../../../services/storage/requests.ts';
import { addRecord, copyLines, emptyBatch, TABLE_SPECS } from '../../../services/storage/tables.ts';
import { PgWriter } from '../../../services/storage/writer.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const URL_ = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const OUT = fileURLToPath(new URL('../../../.local/bench/', import.meta.url));
const log = createLogger({ component: 'bench', level: 'warn' });
const MIN = 60_000;
/** 09:15 IST of a day well inside one daily chunk, a week ago (older than nothing we keep). */
const DAY_OPEN = Math.floor((Date.now() - 7 * 86_400_000) / 86_400_000) * 86_400_000 + 225 * MIN;
const INSTRUMENTS = 50;

/** n ticks of 50 instruments from id offset `base`, a random walk each, spread over the 375 minutes of a session. */
function ticks(n: number, base: number, seed = 1): EnrichedRecord[] {
  const stepMs = Math.floor((375 * MIN) / Math.ceil(n / INSTRUMENTS));
  let s = seed;
  const rnd = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const price = Array.from({ length: INSTRUMENTS }, (_, i) => 500 + i * 40);
  const out: EnrichedRecord[] = [];
  for (let i = 0; i < n; i++) {
    const k = i % INSTRUMENTS;
    const id = `NSE_EQ:${base + k}`;
    const t = DAY_OPEN + Math.floor(i / INSTRUMENTS) * stepMs;
    price[k] = Math.max(1, Math.round(((price[k] as number) + (rnd() - 0.5) * 0.5) * 20) / 20);
    const p = price[k] as number;
    out.push({
      schemaVersion: 1,
      payload: 'tick',
      tick: {
        instrument: { id, symbol: `SYM${base + k}`, segment: 'NSE_EQ', securityId: String(base + k) },
        exchangeTimeMs: t,
        receivedTimeMs: t + 2,
        seq: i,
        lastPrice: p,
        lastQuantity: 1 + Math.floor(rnd() * 50),
        volume: 10_000 + i,
        openInterest: 0,
        averagePrice: p,
        open: 500,
        high: p + 5,
        low: p - 5,
        close: 500,
        totalBuyQuantity: 5_000 + Math.floor(rnd() * 1000),
        totalSellQuantity: 4_800 + Math.floor(rnd() * 1000),
        depth: [],
        meta: null,
        source: 'simulator',
      },
    });
  }
  return out;
}

const chunksOf = <T>(xs: T[], n: number): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

async function writeRates(pool: pg.Pool, schema: string) {
  const cols = TABLE_SPECS.ticks.columns.map((c) => `"${c.name}"`).join(', ');
  const oursChunks = chunksOf(ticks(ROWS, 1000), MAX_ROWS_PER_TRANSACTION);
  const rawChunks = chunksOf(ticks(ROWS, 5000, 7), MAX_ROWS_PER_TRANSACTION);
  const writer = new PgWriter(pool, schema);
  const client = await pool.connect();
  const elapsed = { ours: 0, raw: 0 };
  try {
    for (const [k, chunk] of oursChunks.entries()) {
      const raw = async (): Promise<void> => {
        const b = emptyBatch();
        for (const r of rawChunks[k] ?? []) addRecord(b, r);
        await client.query('BEGIN');
        await pipeline(
          Readable.from([Buffer.from(copyLines(b.ticks))]),
          client.query(copyFrom(`COPY ${qualified(schema, 'ticks')} (${cols}) FROM STDIN`)),
        );
        await client.query('COMMIT');
      };
      const ours = async (): Promise<void> => {
        const b = emptyBatch();
        for (const r of chunk) addRecord(b, r);
        await writer.write(b);
      };
      const order = k % 2 === 0 ? ([ours, raw] as const) : ([raw, ours] as const);
      for (const run of order) {
        const t0 = performance.now();
        await run();
        elapsed[run === ours ? 'ours' : 'raw'] += performance.now() - t0;
      }
    }
  } finally {
    client.release();
  }
  const n = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(schema, 'ticks')}`);
  if (Number(n.rows[0]?.n) !== 2 * ROWS) throw new Error(`ticks holds ${n.rows[0]?.n} rows, expected ${2 * ROWS}`);
  return { ours: ROWS / (elapsed.ours / 1000), raw: ROWS / (elapsed.raw / 1000) };
}

async function compression(pool: pg.Pool, schema: string) {
  const rel = qualified(schema, 'ticks');
  const before = await pool.query<{ b: string }>(`SELECT total_bytes AS b FROM hypertable_detailed_size($1::regclass)`, [rel]);
  await pool.query(`SELECT compress_chunk(c, if_not_compressed => true) FROM show_chunks($1::regclass) c`, [rel]);
  const s = await pool.query<{ before: string; after: string; chunks: number }>(
    `SELECT sum(before_compression_total_bytes) AS before, sum(after_compression_total_bytes) AS after, sum(number_compressed_chunks)::int AS chunks
     FROM hypertable_compression_stats($1::regclass)`,
    [rel],
  );
  const row = s.rows[0];
  return {
    tableBytesBefore: Number(before.rows[0]?.b),
    beforeBytes: Number(row?.before),
    afterBytes: Number(row?.after),
    chunks: row?.chunks ?? 0,
  };
}

function minuteBars(): Bar[] {
  const out: Bar[] = [];
  for (let k = 0; k < INSTRUMENTS; k++) {
    for (let m = 0; m < 375; m++) {
      const p = 1000 + k + Math.sin(m / 9) * 10;
      const t = DAY_OPEN + m * MIN;
      out.push({
        instrumentId: `NSE_EQ:${1000 + k}`,
        minuteStartMs: t,
        open: p,
        high: p + 2,
        low: p - 2,
        close: p + 1,
        volume: 100 + m,
        openInterest: 0,
        tickCount: 30,
        openTimeMs: t,
        closeTimeMs: t + 59_000,
        volumeCumStart: m * 1000,
        volumeCumEnd: m * 1000 + 100 + m,
        final: true,
      });
    }
  }
  return out;
}

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)] as number;
}

async function readLatency(pool: pg.Pool, schema: string) {
  const b = emptyBatch();
  for (const bar of minuteBars()) addRecord(b, { schemaVersion: 1, payload: 'bar', bar });
  await new PgWriter(pool, schema).write(b);
  await pool.query(`CALL refresh_continuous_aggregate($1::regclass, NULL, NULL)`, [qualified(schema, 'bars_15m')]);
  const reader = new HistoryReader(pool, schema, 'timescaledb');
  const ctx = { timeoutMs: 10_000, onCancel: () => undefined };
  const q = (interval: string) =>
    parseBarsRequest({ instrument: 'NSE_EQ:1007', fromMs: DAY_OPEN, toMs: DAY_OPEN + 375 * MIN, interval });
  const oneMinute = await reader.bars(ctx, q('1m'));
  const fifteen = await reader.bars(ctx, q('15m'));
  if (oneMinute.length !== 375 || fifteen.length !== 25)
    throw new Error(`read ${oneMinute.length} 1m and ${fifteen.length} 15m bars, expected 375 and 25`);
  return {
    bars1mMs: await median(200, () => reader.bars(ctx, q('1m'))),
    bars15mMs: await median(200, () => reader.bars(ctx, q('15m'))),
  };
}

async function main(): Promise<void> {
  const pool = createPool(URL_, 2, log);
  const schema = `bench_ts_${Date.now().toString(36)}`;
  try {
    const info = await migrate(pool, schema, log);
    if (info.strategy !== 'timescaledb') throw new Error(`the server does not preload TimescaleDB (strategy ${info.strategy})`);
    const rates = await writeRates(pool, schema);
    const comp = await compression(pool, schema);
    const reads = await readLatency(pool, schema);
    const result = {
      rows: ROWS,
      rowsPerTransaction: MAX_ROWS_PER_TRANSACTION,
      oursRowsPerSecond: Math.round(rates.ours),
      rawCopyRowsPerSecond: Math.round(rates.raw),
      ratio: Number((rates.ours / rates.raw).toFixed(3)),
      target: 0.9,
      compression: {
        rows: 2 * ROWS,
        ...comp,
        ratio: Number((comp.beforeBytes / comp.afterBytes).toFixed(2)),
      },
      bars1mDayMs: Number(reads.bars1mMs.toFixed(2)),
      bars15mDayMs: Number(reads.bars15mMs.toFixed(2)),
      at: new Date().toISOString(),
    };
    process.stdout.write(
      `hypertable write: ours ${result.oursRowsPerSecond} rows/s, raw COPY into the same hypertable ${result.rawCopyRowsPerSecond} rows/s, ratio ${result.ratio} (target ≥ 0.9)\n` +
        `compression: ${result.compression.rows} tick rows of a simulated day, ${comp.beforeBytes} → ${comp.afterBytes} bytes, ${result.compression.ratio}×\n` +
        `GetBars median: a day of 1-minute bars ${result.bars1mDayMs} ms, the day as 15-minute bars ${result.bars15mDayMs} ms\n`,
    );
    mkdirSync(OUT, { recursive: true });
    writeFileSync(`${OUT}storage-timescale.json`, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`storage timescale bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
