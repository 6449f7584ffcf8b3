import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { requireEnv, runId } from './env.ts';

const url = requireEnv('REDIS_URL');
const publisher = new Redis(url);
const subscriber = new Redis(url);

after(() => {
  publisher.disconnect();
  subscriber.disconnect();
});

test('a message published on a channel reaches its subscriber', { timeout: 30_000 }, async () => {
  const channel = `live:infra-test-${runId}`;
  await subscriber.subscribe(channel);
  const received = once(subscriber, 'message');
  const payload = JSON.stringify({ ltp: 24012.5, ts: Date.now() });
  assert.equal(await publisher.publish(channel, payload), 1, 'exactly one subscriber listens');
  const [gotChannel, gotPayload] = (await received) as [string, string];
  assert.equal(gotChannel, channel);
  assert.equal(gotPayload, payload);
});

test('a key written by one connection is read by another', async () => {
  const key = `latest:infra-test-${runId}`;
  await publisher.set(key, 'snapshot', 'EX', 60);
  const reader = new Redis(url);
  try {
    assert.equal(await reader.get(key), 'snapshot');
  } finally {
    reader.disconnect();
  }
});
