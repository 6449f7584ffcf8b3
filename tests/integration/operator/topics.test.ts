import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { feedTopics, TopicManager } from '../../../operator/controller/topics.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import { consumerGroup, rawTopic } from '../../../services/core/topics.ts';
import { brokers, feedManifest, manyInstruments, uniqueName } from './helpers.ts';

const log = createLogger({ component: 'operator-test', level: 'error' });
const topics = new TopicManager(log);
const ns = uniqueName('stk-topics');
const name = uniqueName('feed');
const feed = (shards: number, partitions = 2) => {
  const f = parseMarketFeed(feedManifest(ns, name, { shards, instruments: manyInstruments(4) }));
  f.spec.kafka.partitionsPerShard = partitions;
  f.spec.processor.autoscaling = undefined;
  f.spec.storage.autoscaling = undefined;
  return f;
};

after(async () => {
  await topics.deleteTopics(
    feed(3),
    feedTopics(feed(3)).map((t) => t.topic),
  );
  await topics.close();
});

describe('Kafka topics of a MarketFeed', () => {
  test('ensure creates raw and enriched topics per shard plus the DLQ, then grows partitions', async () => {
    const first = await topics.ensure(feed(2));
    assert.equal(first.created.length, 1 + 2 * 2);
    const again = await topics.ensure(feed(2));
    assert.deepEqual(again, { created: [], grown: [] });
    const grown = await topics.ensure(feed(3, 3));
    assert.equal(grown.created.length, 2);
    assert.equal(grown.grown.length, 4);
  });

  test('shard lag counts uncommitted messages and reaches 0 once both groups commit', async () => {
    const f = feed(3, 3);
    const kafka = createKafka([brokers()], 'lag-test', log);
    const producer = kafka.producer();
    await producer.connect();
    const topic = rawTopic(ns, name, 0);
    await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: 'x' })) });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    // The producer may retry into partitions that were just added: count what the log holds.
    const stored = ends.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
    assert.ok(stored >= 5);
    assert.equal(await topics.shardLag(f, 0), stored);
    await admin.setOffsets({
      groupId: consumerGroup('processor', ns, name, 0),
      topic,
      partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
    });
    await admin.disconnect();
    assert.equal(await topics.shardLag(f, 0), 0);
  });
});
