import assert from 'node:assert/strict';
import { test } from 'node:test';
import { partitionLag, processedMetadata, processedOffset } from '../../../services/core/commit-metadata.ts';

test('the processed offset round-trips through commit metadata; other metadata carries none', () => {
  assert.equal(processedOffset(processedMetadata(12_345)), 12_345);
  assert.equal(processedOffset(null), undefined);
  assert.equal(processedOffset(''), undefined);
  assert.equal(processedOffset('processed=abc'), undefined);
});

test('lag counts from the processed offset when an open bar holds the committed one back', () => {
  // 6,000 records of the last minute held by an open bar, all processed: nothing left to do.
  const held = { high: 10_000, low: 0, committed: 4_000, metadata: processedMetadata(10_000) };
  assert.equal(partitionLag(held), 0);
  assert.equal(partitionLag({ ...held, metadata: processedMetadata(9_000) }), 1_000);
});

test('without metadata (a plain consumer, storage) lag counts from the committed offset', () => {
  assert.equal(partitionLag({ high: 100, low: 0, committed: 40 }), 60);
  assert.equal(partitionLag({ high: 100, low: 0, committed: 40, metadata: 'something else' }), 60);
});

test('a processed offset behind the committed one never adds lag', () => {
  assert.equal(partitionLag({ high: 100, low: 0, committed: 90, metadata: processedMetadata(50) }), 10);
});

test('a partition never committed counts whole; records deleted by retention do not count', () => {
  assert.equal(partitionLag({ high: 100, low: 30, committed: -1 }), 70);
  assert.equal(partitionLag({ high: 100, low: 30, committed: 10 }), 70);
});
