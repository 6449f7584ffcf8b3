import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expiredPartitions, plannedPartitions } from '../../../services/storage/partitions.ts';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

describe('self-managed daily partitions', () => {
  test('partitions cover yesterday through a week ahead, one UTC day each', () => {
    const p = plannedPartitions('ticks', NOW, 7);
    assert.equal(p.length, 9);
    assert.deepEqual(p[0], { name: 'ticks_p20261119', from: '2026-11-19T00:00:00.000Z', to: '2026-11-20T00:00:00.000Z' });
    assert.equal(p[8]?.name, 'ticks_p20261127');
  });

  test('only partitions wholly older than the retention window expire', () => {
    const names = ['ticks_p20261018', 'ticks_p20261021', 'ticks_p20261120', 'ticks_default', 'bars_1m_p20200101'];
    assert.deepEqual(expiredPartitions(names, 'ticks', 30, NOW), ['ticks_p20261018']);
  });

  test('retention 0 keeps everything', () => {
    assert.deepEqual(expiredPartitions(['ticks_p20000101'], 'ticks', 0, NOW), []);
  });
});
