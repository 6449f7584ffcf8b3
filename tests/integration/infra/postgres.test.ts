import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { requireEnv, runId } from './env.ts';

const client = new pg.Client({ connectionString: requireEnv('DATABASE_URL') });

before(async () => {
  await client.connect();
});

after(async () => {
  await client.end();
});

test('COPY streams 100,000 rows in and a query aggregates them', { timeout: 120_000 }, async () => {
  const table = `infra_copy_${runId}`;
  const rows = 100_000;
  const symbols = ['NIFTY', 'BANKNIFTY', 'FINNIFTY', 'RELIANCE', 'TCS'];
  await client.query(
    `CREATE TEMP TABLE ${table} (id integer PRIMARY KEY, symbol text NOT NULL, price numeric(12,2) NOT NULL, ts timestamptz NOT NULL)`,
  );
  const t0 = Date.parse('2026-01-05T03:45:00Z');
  function* lines() {
    for (let start = 0; start < rows; start += 5000) {
      let chunk = '';
      for (let i = start; i < start + 5000; i++) {
        chunk += `${i}\t${symbols[i % symbols.length]}\t${(100 + (Math.floor(i / symbols.length) % 1000) / 100).toFixed(2)}\t${new Date(t0 + i * 1000).toISOString()}\n`;
      }
      yield chunk;
    }
  }
  await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY ${table} (id, symbol, price, ts) FROM STDIN`)));

  const { rows: totals } = await client.query<{ n: string; ids: string; symbols: string; span: string }>(
    `SELECT count(*) AS n, sum(id) AS ids, count(DISTINCT symbol) AS symbols,
            extract(epoch FROM max(ts) - min(ts))::bigint AS span FROM ${table}`,
  );
  assert.deepEqual(totals[0], {
    n: String(rows),
    ids: String((rows * (rows - 1)) / 2),
    symbols: String(symbols.length),
    span: String(rows - 1),
  });
  const { rows: perSymbol } = await client.query<{ symbol: string; n: number; max: string }>(
    `SELECT symbol, count(*)::int AS n, max(price)::text AS max FROM ${table} GROUP BY symbol ORDER BY symbol`,
  );
  assert.deepEqual(
    perSymbol.map((r) => [r.symbol, r.n, r.max]),
    [...symbols].sort().map((s) => [s, rows / symbols.length, '109.99']),
  );
});

test('pg_partman lives in schema partman and the application role can partition a table with it', async () => {
  const { rows } = await client.query<{ version: string; schema: string }>(
    `SELECT extversion AS version, extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_partman'`,
  );
  assert.equal(rows[0]?.schema, 'partman');
  const major = Number(rows[0]?.version.split('.')[0]);
  const table = `public.infra_partman_${runId}`;
  await client.query(`CREATE TABLE ${table} (id bigint NOT NULL, ts timestamptz NOT NULL) PARTITION BY RANGE (ts)`);
  try {
    // pg_partman 5 dropped the partition type argument of 4.x ('native').
    await client.query(
      major >= 5
        ? `SELECT partman.create_parent('${table}', 'ts', '1 day')`
        : `SELECT partman.create_parent('${table}', 'ts', 'native', 'daily')`,
    );
    const { rows: parts } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM partman.show_partitions('${table}')`,
    );
    assert.ok((parts[0]?.n ?? 0) >= 5, 'create_parent pre-made daily partitions');
    await client.query(`INSERT INTO ${table} VALUES (1, now())`);
  } finally {
    await client.query('DELETE FROM partman.part_config WHERE parent_table = $1', [table]);
    await client.query(`DROP TABLE ${table} CASCADE`);
  }
});
