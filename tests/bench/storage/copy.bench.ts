// Storage write throughput: our writer (idempotent writes into the partitioned history table, one
// transaction per 5,000 rows) as a ratio of a raw COPY of the same rows, in the same chunks, into a
// plain table with the same primary key. Target ratio ≥ 0.8. The kinds of write are interleaved
// transaction by transaction, so a loaded machine slows all of them alike.
// Also reports a plain table without any index, for context. Writes .local/bench/storage.json.
//   node tests/bench/storage/copy.bench.ts [rows] [rows per transaction]   (DATABASE_URL, default the local one)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createLogger } from '../../../services/core/log.ts';
import type { EnrichedRecord } from '../../../services/core/messages.ts';
import { MAX_ROWS_PER_TRANSACTION } from '../../../services/storage/consumer.ts';
import { migrate, qualified } from '../../../services/storage/migrations.ts';
import { maintainPartitions } from '../../../services/storage/partitions.ts';
import { addRecord, copyLines, emptyBatch, TABLE_SPECS } from '../../../services/storage/tables.ts';
import { historyPolicy } from '../../../services/storage/timescale.ts';
import { PgWriter } from '../../../services/storage/writer.ts';

const ROWS = Number(process.argv[2] ?? 200_000);
const PER_TRANSACTION = Number(process.argv[3] ?? MAX_ROWS_PER_TRANSACTION);
const URL_ = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const OUT = fileURLToPath(new URL('../../../.local/bench/', import.meta.url));
const log = createLogger({ component: 'bench', level: 'warn' });

function records(n: number): EnrichedRecord[] {
  const start = Date.now() - 3_600_000;
  const out: EnrichedRecord[] = [];
  for (let i = 0; i < n; i++) {
    const id = `NSE_EQ:${1000 + (i % 50)}`;
    const t = start + Math.floor(i / 50) * 10;
    out.push({
      schemaVersion: 1,
      payload: 'tick',
      tick: {
        instrument: { id, symbol: `SYM${i % 50}`, segment: 'NSE_EQ', securityId: String(1000 + (i % 50)) },
        exchangeTimeMs: t,
        receivedTimeMs: t + 2,
        seq: i,
        lastPrice: 1000 + (i % 97) * 0.05,
        lastQuantity: 1 + (i % 10),
        volume: 10_000 + i,
        openInterest: 0,
        averagePrice: 1001.5,
        open: 990,
        high: 1010,
        low: 985,
        close: 995,
        totalBuyQuantity: 5_000,
        totalSellQuantity: 4_800,
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

async function main(): Promise<void> {
  const pool = new pg.Pool({ connectionString: URL_, max: 2 });
  const schema = `bench_${Date.now().toString(36)}`;
  try {
    const info = await migrate(pool, schema, log);
    await maintainPartitions(
      pool,
      info,
      historyPolicy({ retentionDays: 30, storage: { retention: { bars1m: 0, gex: 0 }, compressAfterDays: 7 } }),
      log,
    );
    const cols = TABLE_SPECS.ticks.columns.map((c) => `"${c.name}"`).join(', ');
    await pool.query(
      `CREATE TABLE ${qualified(schema, 'ref_keyed')} (LIKE ${qualified(schema, 'ticks')} INCLUDING DEFAULTS, PRIMARY KEY (instrument_id, exchange_time, seq))`,
    );
    await pool.query(`CREATE TABLE ${qualified(schema, 'ref_plain')} (LIKE ${qualified(schema, 'ticks')} INCLUDING DEFAULTS)`);
    const chunks = chunksOf(records(ROWS), PER_TRANSACTION);

    // One transaction of each kind in turn, the order rotating per chunk: on a shared machine the
    // load changes by the second, and running each kind as one long phase measured mostly that.
    const elapsed = { ours: 0, keyed: 0, plain: 0 };
    const writer = new PgWriter(pool, schema);
    const client = await pool.connect();
    const rawCopy = async (table: string, chunk: EnrichedRecord[]): Promise<void> => {
      const b = emptyBatch();
      for (const r of chunk) addRecord(b, r);
      await client.query('BEGIN');
      await pipeline(
        Readable.from([Buffer.from(copyLines(b.ticks))]),
        client.query(copyFrom(`COPY ${qualified(schema, table)} (${cols}) FROM STDIN`)),
      );
      await client.query('COMMIT');
    };
    const ours = async (chunk: EnrichedRecord[]): Promise<void> => {
      const b = emptyBatch();
      for (const r of chunk) addRecord(b, r);
      await writer.write(b);
    };
    const kinds = [
      ['ours', ours],
      ['keyed', (c: EnrichedRecord[]) => rawCopy('ref_keyed', c)],
      ['plain', (c: EnrichedRecord[]) => rawCopy('ref_plain', c)],
    ] as const;
    try {
      for (const [k, chunk] of chunks.entries()) {
        for (let j = 0; j < kinds.length; j++) {
          const [name, run] = kinds[(k + j) % kinds.length] as (typeof kinds)[number];
          const t0 = performance.now();
          await run(chunk);
          elapsed[name] += performance.now() - t0;
        }
      }
    } finally {
      client.release();
    }
    const check = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified(schema, 'ticks')}`);
    if (Number(check.rows[0]?.n) !== ROWS) throw new Error(`writer stored ${check.rows[0]?.n} of ${ROWS} rows`);
    const oursRate = ROWS / (elapsed.ours / 1000);
    const keyedRate = ROWS / (elapsed.keyed / 1000);
    const plainRate = ROWS / (elapsed.plain / 1000);
    const ratio = oursRate / keyedRate;
    const result = {
      rows: ROWS,
      rowsPerTransaction: PER_TRANSACTION,
      method: 'interleaved per transaction, order rotating',
      strategy: info.strategy,
      oursRowsPerSecond: Math.round(oursRate),
      referenceRowsPerSecond: Math.round(keyedRate),
      ratio: Number(ratio.toFixed(3)),
      target: 0.8,
      unindexedReferenceRowsPerSecond: Math.round(plainRate),
      ratioToUnindexed: Number((oursRate / plainRate).toFixed(3)),
      at: new Date().toISOString(),
    };
    process.stdout.write(
      `storage write: ours ${result.oursRowsPerSecond} rows/s, reference raw COPY (plain table, same key) ${result.referenceRowsPerSecond} rows/s, ratio ${result.ratio} (target ≥ 0.8)\n` +
        `  context: raw COPY into an unindexed plain table ${result.unindexedReferenceRowsPerSecond} rows/s (ratio ${result.ratioToUnindexed})\n`,
    );
    mkdirSync(OUT, { recursive: true });
    writeFileSync(`${OUT}storage.json`, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.query(`DELETE FROM partman.part_config WHERE parent_table LIKE $1`, [`${schema}.%`]).catch(() => undefined);
    const templates = await pool
      .query<{ relname: string }>(
        `SELECT relname FROM pg_class WHERE relnamespace = 'partman'::regnamespace AND relname LIKE $1`,
        [`template_${schema}_%`],
      )
      .catch(() => ({ rows: [] as { relname: string }[] }));
    for (const t of templates.rows) await pool.query(`DROP TABLE IF EXISTS partman."${t.relname}"`);
    await pool.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`storage bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
