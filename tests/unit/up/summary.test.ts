import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { stopSummary } from '../../../services/up/summary.ts';

const INPUT = {
  feed: 'nifty',
  ranMs: 65_000,
  processes: 6,
  restarts: 1,
  killed: [],
  databaseUrl: 'postgres://stockify:s3cr3t-pw@127.0.0.1:5432/stockify',
  dbSchema: 'public',
  tables: ['ticks', 'option_quotes', 'bars_1m', 'gex'],
  rowsByTable: { ticks: 7260, gex: 54 },
  redisUrl: 'redis://127.0.0.1:6379',
  logFiles: '.local/logs/nifty-*.log',
  chainSymbol: 'NIFTY',
  levelIds: ['IDX_I:13', 'IDX_I:25'],
};

describe('summary printed on stop', () => {
  test('says how long it ran and how many processes restarted', () => {
    assert.match(stopSummary(INPUT), /^stockify up: stopped nifty after 00:01:05 \(6 processes, 1 restart\)\n/);
  });

  test('names the database with the password redacted, and every table with the rows written', () => {
    const text = stopSummary(INPUT);
    assert.ok(text.includes('Data: PostgreSQL postgres://stockify:***@127.0.0.1:5432/stockify, schema public'));
    assert.ok(!text.includes('s3cr3t-pw'));
    assert.ok(text.includes('  public.ticks  (7,260 rows written this run)'));
    assert.ok(text.includes('  public.option_quotes\n'));
    assert.ok(text.includes('  public.gex  (54 rows written this run)'));
  });

  test('shows how to query: the chain, the latest levels and SQL', () => {
    const text = stopSummary(INPUT);
    assert.ok(text.includes('  stockify query chain NIFTY\n'));
    assert.ok(text.includes('  stockify query latest IDX_I:13 IDX_I:25\n'));
    assert.match(text, /psql "\$DATABASE_URL" -c "SELECT .* FROM public\.bars_1m WHERE instrument_id = 'IDX_I:13'/);
  });

  test('a non-default endpoint is passed to the query commands; killed processes are named', () => {
    const text = stopSummary({ ...INPUT, queryEndpoint: '127.0.0.1:40000', killed: ['nifty-storage-1'] });
    assert.ok(text.includes('stockify query chain NIFTY --endpoint 127.0.0.1:40000'));
    assert.match(text, /killed after the grace period: nifty-storage-1/);
  });
});
