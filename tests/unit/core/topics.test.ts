import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { feedTopicSpecs, shardTopicSpecs } from '../../../services/core/topics.ts';

const layout = { namespace: 'markets', feed: 'nifty', partitionsPerShard: 3, replicationFactor: 1 };

describe('topics of a feed', () => {
  test('a shard touches its raw and enriched topics and the one-partition DLQ', () => {
    assert.deepEqual(shardTopicSpecs(layout, 2), [
      { topic: 'market.raw.markets.nifty.2', partitions: 3, replicationFactor: 1 },
      { topic: 'market.enriched.markets.nifty.2', partitions: 3, replicationFactor: 1 },
      { topic: 'market.dlq.markets.nifty', partitions: 1, replicationFactor: 1 },
    ]);
  });

  test('a feed of n shards has 2n stream topics and the DLQ once', () => {
    const topics = feedTopicSpecs(layout, 4).map((t) => t.topic);
    assert.equal(topics.length, 9);
    assert.equal(new Set(topics).size, 9);
    assert.equal(topics.filter((t) => t.startsWith('market.dlq.')).length, 1);
  });
});
