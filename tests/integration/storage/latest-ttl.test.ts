// The Redis contract of proto/stockify/v1/redis.proto against a real Redis: latest:<id> is a hash of
// Snapshot bytes, time_ms and seq that expires after the MarketFeed's spec.redis.latestTtlSeconds
// (renewed on every write, 0 = never), and live:<id> carries the same bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { shardFile } from '../../../operator/desired/index.ts';
import type { Snapshot, Tick } from '../../../services/core/messages.ts';
import { readShardFile } from '../../../services/core/shardfile.ts';
import { type LiveUpdate, LiveWriter, latestKey, liveChannel, snapshotCodec } from '../../../services/storage/live.ts';
import { REDIS_URL } from './helpers.ts';

const id = `NSE_EQ:ttl${randomBytes(3).toString('hex')}`;

function update(timeMs: number, seq: number, ltp: number): LiveUpdate {
  const tick = { instrument: { id }, exchangeTimeMs: timeMs, seq, lastPrice: ltp } as unknown as Tick;
  const snapshot: Snapshot = { instrumentId: id, timeMs, payload: 'tick', tick };
  return { id, timeMs, seq, snapshot };
}

function feed(redis: Record<string, unknown>) {
  return parseMarketFeed({
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name: 'ttl', namespace: 'markets' },
    spec: {
      instruments: [{ symbol: 'RELIANCE', securityId: '2885', segment: 'NSE_EQ', kind: 'equity' }],
      kafka: { bootstrapServers: 'kafka:9092' },
      postgres: { secretRef: { name: 'pg' } },
      redis: { url: 'redis://redis:6379', ...redis },
    },
  });
}

describe('Redis latest:<id> expiry (spec.redis.latestTtlSeconds)', () => {
  let redis: Redis;
  let sub: Redis;

  before(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    sub = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    await redis.ping();
  });

  after(async () => {
    await redis.del(latestKey(id));
    redis.disconnect();
    sub.disconnect();
  });

  test('the MarketFeed default (10 days) and an explicit value reach the shard file storage reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockify-ttl-'));
    try {
      for (const [spec, expected] of [
        [{}, 864_000],
        [{ latestTtlSeconds: 3600 }, 3600],
        [{ latestTtlSeconds: 0 }, 0],
      ] as const) {
        const file = join(dir, 'shard.json');
        writeFileSync(file, JSON.stringify(shardFile(feed(spec), 0)));
        assert.equal(readShardFile(file).redis?.latestTtlSeconds, expected);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a write sets the TTL on latest:<id>, a newer write renews it, and live:<id> gets the same Snapshot bytes', async () => {
    const writer = new LiveWriter(redis, { latestTtlSeconds: 3600 });
    const messages: Buffer[] = [];
    await sub.subscribe(liveChannel(id));
    sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => messages.push(message));

    assert.deepEqual(await writer.apply([update(1_000, 1, 100)]), { applied: 1, failed: 0 });
    const ttl = await redis.ttl(latestKey(id));
    assert.ok(ttl > 3590 && ttl <= 3600, `TTL ${ttl}`);
    assert.equal(await redis.type(latestKey(id)), 'hash');
    const hash = await redis.hgetallBuffer(latestKey(id));
    assert.deepEqual(Object.keys(hash).sort(), ['seq', 'snapshot', 'time_ms']);
    assert.equal(hash.time_ms?.toString(), '1000');
    assert.equal(hash.seq?.toString(), '1');
    const decoded = snapshotCodec.decode(hash.snapshot as Buffer);
    assert.equal(decoded.instrumentId, id);
    assert.equal(decoded.payload === 'tick' ? decoded.tick.lastPrice : undefined, 100);

    await redis.expire(latestKey(id), 100);
    assert.deepEqual(await writer.apply([update(2_000, 2, 101)]), { applied: 1, failed: 0 });
    const renewed = await redis.ttl(latestKey(id));
    assert.ok(renewed > 3590, `renewed TTL ${renewed}`);

    // A stale update (a redelivery) neither stores nor touches the key.
    await redis.expire(latestKey(id), 100);
    assert.deepEqual(await writer.apply([update(1_500, 9, 99)]), { applied: 0, failed: 0 });
    assert.ok((await redis.ttl(latestKey(id))) <= 100);

    for (let i = 0; i < 50 && messages.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(messages.length, 2, 'one message per stored write');
    assert.deepEqual(messages[1], (await redis.hgetallBuffer(latestKey(id))).snapshot);
    await sub.unsubscribe(liveChannel(id));
  });

  test('latestTtlSeconds 0: the key never expires, even one that had a TTL', async () => {
    const writer = new LiveWriter(redis, { latestTtlSeconds: 0 });
    await redis.expire(latestKey(id), 100);
    assert.deepEqual(await writer.apply([update(3_000, 3, 102)]), { applied: 1, failed: 0 });
    assert.equal(await redis.ttl(latestKey(id)), -1);
  });
});
