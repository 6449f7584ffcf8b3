import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ComponentMetricNames } from '../../../services/up/metric-names.ts';
import { parsePrometheus } from '../../../services/up/prometheus.ts';
import { componentStats, withCarried } from '../../../services/up/stats.ts';

const NAMES: ComponentMetricNames = {
  throughput: [{ name: 'old_records_total' }, { name: 'records_total' }],
  throughputUnit: 'rec/s',
  lag: [{ name: 'lag' }],
  rows: [{ name: 'rows_total' }],
  rowsTableLabel: 'table',
  errors: [{ name: 'errors_total' }, { name: 'dlq_total' }],
};

const scrape = (atMs: number, text: string) => ({ atMs, samples: parsePrometheus(text).samples });

describe('component figures from two scrapes', () => {
  test('throughput is the counter increase per second between the scrapes', () => {
    const earlier = scrape(1_000, 'records_total 100\n');
    const current = scrape(3_000, 'records_total 500\n');
    const stats = componentStats(NAMES, current, earlier);
    assert.equal(stats.rate, 200);
    assert.equal(stats.total, 500);
  });

  test('the first exported candidate name wins', () => {
    const stats = componentStats(
      NAMES,
      scrape(2_000, 'old_records_total 7\nrecords_total 99\n'),
      scrape(1_000, 'old_records_total 5\n'),
    );
    assert.equal(stats.total, 7);
    assert.equal(stats.rate, 2);
  });

  test('a counter that went down (restart) counts from zero', () => {
    const stats = componentStats(NAMES, scrape(2_000, 'records_total 30\n'), scrape(1_000, 'records_total 1000\n'));
    assert.equal(stats.rate, 30);
  });

  test('without an earlier scrape there is no rate yet', () => {
    assert.equal(componentStats(NAMES, scrape(1_000, 'records_total 30\n')).rate, undefined);
  });

  test('lag sums partitions, rows split by table, errors add up across counters', () => {
    const text = [
      'lag{partition="0"} 3',
      'lag{partition="1"} 4',
      'rows_total{table="ticks"} 100',
      'rows_total{table="gex"} 5',
      'errors_total{kind="decode"} 2',
      'dlq_total 1',
    ].join('\n');
    const stats = componentStats(NAMES, scrape(1_000, text));
    assert.equal(stats.lag, 7);
    assert.equal(stats.rows, 105);
    assert.deepEqual(stats.rowsByTable, { ticks: 100, gex: 5 });
    assert.equal(stats.errors, 3);
  });

  test('metrics a process does not export stay undefined', () => {
    const stats = componentStats(NAMES, scrape(1_000, 'process_cpu_seconds_total 1\n'));
    assert.deepEqual(stats, {});
  });
});

describe('figures across restarts', () => {
  test('rows and errors of earlier runs are added to the current run, per table too', () => {
    const stats = withCarried(
      { rate: 5, rows: 10, rowsByTable: { ticks: 10 }, errors: 1 },
      { rows: 100, rowsByTable: { ticks: 90, gex: 10 }, errors: 2 },
    );
    assert.deepEqual(stats, { rate: 5, rows: 110, rowsByTable: { ticks: 100, gex: 10 }, errors: 3 });
  });

  test('with nothing carried the figures are unchanged, and nothing is invented', () => {
    assert.deepEqual(withCarried({ rate: 1 }, { rowsByTable: {} }), { rate: 1 });
  });
});

describe('declared metrics', () => {
  test('a counter declared but not yet incremented reads as zero; an undeclared one stays unknown', () => {
    const declared = { atMs: 1_000, samples: [], declared: new Set(['errors_total', 'records_total']) };
    const stats = componentStats(NAMES, declared);
    assert.equal(stats.errors, 0);
    assert.equal(stats.total, 0);
    assert.equal(stats.lag, undefined);
  });
});
