import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePrometheus, sumOf } from '../../../services/up/prometheus.ts';

const TEXT = `# HELP stockify_ingestion_ticks_total Ticks published.
# TYPE stockify_ingestion_ticks_total counter
stockify_ingestion_ticks_total{feed="nifty",shard="0",kind="tick"} 1200
stockify_ingestion_ticks_total{feed="nifty",shard="0",kind="chain"} 30
# TYPE stockify_consumer_lag gauge
stockify_consumer_lag{topic="market.raw.default.nifty.0",partition="0"} 4
stockify_consumer_lag{topic="market.raw.default.nifty.0",partition="1"} 6.5e0
process_start_time_seconds 1.7e9
weird{path="a\\"b\\\\c\\nd"} +Inf
nan_metric NaN
garbage line here
bad{unterminated="x} 1
`;

describe('Prometheus text parser', () => {
  test('reads samples with labels, types and exponent values', () => {
    const { samples, types } = parsePrometheus(TEXT);
    assert.equal(types.get('stockify_ingestion_ticks_total'), 'counter');
    assert.equal(types.get('stockify_consumer_lag'), 'gauge');
    const first = samples[0];
    assert.deepEqual(first, {
      name: 'stockify_ingestion_ticks_total',
      labels: { feed: 'nifty', shard: '0', kind: 'tick' },
      value: 1200,
    });
    assert.equal(samples.find((s) => s.name === 'process_start_time_seconds')?.value, 1.7e9);
  });

  test('unescapes quotes, backslashes and newlines in label values; reads +Inf', () => {
    const weird = parsePrometheus(TEXT).samples.find((s) => s.name === 'weird');
    assert.equal(weird?.labels.path, 'a"b\\c\nd');
    assert.equal(weird?.value, Number.POSITIVE_INFINITY);
  });

  test('counts unreadable lines instead of throwing', () => {
    const { invalidLines, samples } = parsePrometheus(TEXT);
    assert.equal(invalidLines, 2);
    assert.equal(samples.length, 7);
  });

  test('sums a metric across label sets, filtered by labels', () => {
    const { samples } = parsePrometheus(TEXT);
    assert.equal(sumOf(samples, 'stockify_ingestion_ticks_total'), 1230);
    assert.equal(sumOf(samples, 'stockify_ingestion_ticks_total', { kind: 'tick' }), 1200);
    assert.equal(sumOf(samples, 'stockify_consumer_lag'), 10.5);
  });

  test('an absent metric sums to undefined, not zero; NaN samples are ignored', () => {
    const { samples } = parsePrometheus(TEXT);
    assert.equal(sumOf(samples, 'no_such_metric'), undefined);
    assert.equal(sumOf(samples, 'nan_metric'), undefined);
  });

  test('reads timestamps after the value and an empty body', () => {
    const { samples } = parsePrometheus('a_total 5 1700000000000\n');
    assert.deepEqual(samples, [{ name: 'a_total', labels: {}, value: 5 }]);
    assert.deepEqual(parsePrometheus('').samples, []);
  });
});

describe('label exclusion', () => {
  test('samples carrying an excluded label value are left out of the sum', () => {
    const { samples } = parsePrometheus('p_total{source="simulator"} 10\np_total{source="dlq"} 2\n');
    assert.equal(sumOf(samples, 'p_total', {}, { source: 'dlq' }), 10);
  });
});
