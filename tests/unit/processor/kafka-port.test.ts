import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message, Producer, ProducerBatch } from 'kafkajs';
import { SEND_CHUNK, sendInChunks } from '../../../services/processor/kafka-port.ts';

const messages = (prefix: string, n: number): Message[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: Buffer.alloc(0) }));

test('a batch goes out in produce requests of at most SEND_CHUNK records, enriched first, in order, all replicas acknowledging', async () => {
  const requests: ProducerBatch[] = [];
  const producer = { sendBatch: async (b: ProducerBatch) => requests.push(b) } as unknown as Producer;
  await sendInChunks(producer, { enriched: 'e', dlq: 'd' }, { enriched: messages('e', 1_200), dead: messages('d', 350) });
  const sizes = requests.map((r) => (r.topicMessages ?? []).reduce((a, t) => a + t.messages.length, 0));
  assert.ok(
    sizes.every((s) => s <= SEND_CHUNK),
    `request sizes ${sizes.join(', ')}`,
  );
  assert.ok(requests.every((r) => r.acks === -1));
  const keys = (topic: string) =>
    requests.flatMap((r) =>
      (r.topicMessages ?? []).filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.key)),
    );
  assert.deepEqual(
    keys('e'),
    messages('e', 1_200).map((m) => m.key),
  );
  assert.deepEqual(
    keys('d'),
    messages('d', 350).map((m) => m.key),
  );
  assert.equal(requests.length, Math.ceil(1_550 / SEND_CHUNK));
});

test('an empty batch sends nothing', async () => {
  let sent = 0;
  const producer = { sendBatch: async () => sent++ } as unknown as Producer;
  await sendInChunks(producer, { enriched: 'e', dlq: 'd' }, { enriched: [], dead: [] });
  assert.equal(sent, 0);
});
