import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Admin, Kafka, logLevel, Partitioners } from 'kafkajs';
import { eventually, requireEnv, runId } from './env.ts';

const brokers = requireEnv('KAFKA_BROKERS').split(',');
const kafka = new Kafka({ clientId: `infra-test-${runId}`, brokers, logLevel: logLevel.WARN });
const topic = `infra-test.keyed.${runId}`;
let admin: Admin;

before(async () => {
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

test('10,000 keyed messages on a 3-partition topic all reach one consumer group', { timeout: 120_000 }, async () => {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions: 3, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  assert.equal(created, true, `topic ${topic} already existed`);
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  assert.equal(meta?.partitions.length, 3);

  const total = 10_000;
  const keyOf = (i: number) => `instrument-${i % 101}`;
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
  await producer.connect();
  for (let start = 0; start < total; start += 1000) {
    const messages = Array.from({ length: 1000 }, (_, j) => ({ key: keyOf(start + j), value: String(start + j) }));
    await producer.send({ topic, acks: -1, messages });
  }
  await producer.disconnect();

  const seen = new Set<number>();
  const partitionOfKey = new Map<string, number>();
  const partitionsUsed = new Set<number>();
  const consumer = kafka.consumer({ groupId: `${topic}.group` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const key = message.key?.toString() ?? '';
        const i = Number(message.value?.toString());
        assert.equal(key, keyOf(i), 'a message arrived with another key than it was sent with');
        const known = partitionOfKey.get(key);
        assert.ok(known === undefined || known === partition, `key ${key} was spread over partitions`);
        partitionOfKey.set(key, partition);
        partitionsUsed.add(partition);
        seen.add(i);
      },
    });
    await eventually(`${total} distinct messages (have ${seen.size})`, 90_000, async () =>
      seen.size === total ? true : undefined,
    );
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual([...partitionsUsed].sort(), [0, 1, 2]);
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(
    offsets.reduce((sum, p) => sum + Number(p.high), 0),
    total,
    'the topic holds exactly the produced messages',
  );
});

test('the broker never creates a topic on first use (auto.create.topics.enable=false)', async () => {
  const missing = `infra-test.absent.${runId}`;
  // A client of its own with logging off: the broker's refusal is the expected outcome here.
  const quiet = new Kafka({ clientId: `infra-test-${runId}-quiet`, brokers, logLevel: logLevel.NOTHING }).admin();
  await quiet.connect();
  try {
    await assert.rejects(quiet.fetchTopicMetadata({ topics: [missing] }), /does not host this topic-partition/);
  } finally {
    await quiet.disconnect();
  }
  assert.ok(!(await admin.listTopics()).includes(missing));
});
