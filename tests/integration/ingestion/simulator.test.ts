// (a) Two simulator shards publish only their own instruments, and every record generated is in
// Kafka: count in = count read back with a consumer.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { instrumentId, type RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { assignShards, shardOf } from '../../../services/core/sharding.ts';
import { rawTopic } from '../../../services/core/topics.ts';
import { BROKERS, baseEnv, consumeAll, deleteTopics, runId, startIngestion, writeShardFile } from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const feed = `sim-${runId()}`;
const LIMIT = 3000;

const universe = [
  {
    symbol: 'NIFTY',
    securityId: '13',
    segment: 'IDX_I',
    kind: 'index',
    optionChain: { expiries: 2, strikes: 10, strikeStep: 50 },
    simulator: { price: 26000 },
  },
  { symbol: 'BANKNIFTY', securityId: '25', segment: 'IDX_I', kind: 'index', optionChain: { expiries: 1, strikes: 10 } },
  ...['1333', '2885', '11536', '1594', '4963', '3045', '881', '10999'].map((id, i) => ({
    symbol: `STOCK${i}`,
    securityId: id,
    segment: 'NSE_EQ' as const,
    kind: 'equity',
  })),
] as const;

after(() => deleteTopics(BROKERS, feed));

describe('simulator shards against the real broker', () => {
  test('two shards publish only their own instruments and every generated record reaches Kafka', async () => {
    const groups = assignShards([...universe], 2, (i) => instrumentId(i.segment, i.securityId));
    assert.ok((groups[0]?.length ?? 0) > 0 && (groups[1]?.length ?? 0) > 0, 'both shards have instruments');
    const runs = await Promise.all(
      [0, 1].map(async (shard) => {
        // Shard 0's file also lists one instrument of shard 1: it must be skipped with a log line.
        const listed = shard === 0 ? [...(groups[0] ?? []), groups[1]?.[0]] : (groups[1] ?? []);
        const file = writeShardFile({
          feed,
          namespace: 'itest',
          shard,
          shardCount: 2,
          source: { type: 'simulator', seed: 11 + shard, ticksPerSecond: 500, chainSnapshotsPerSecond: 2 },
          kafka: { partitionsPerShard: 3, replicationFactor: 1 },
          instruments: listed,
        });
        return startIngestion(await baseEnv(feed, shard, 2, file), [
          '--as-fast-as-possible',
          '--limit',
          String(LIMIT),
          '--exit-when-done',
        ]);
      }),
    );
    const codes = await Promise.all(runs.map((r) => r.exited));
    assert.deepEqual(codes, [0, 0], `both exit 0:\n${runs.map((r) => r.output()).join('\n')}`);
    assert.match(runs[0]?.output() ?? '', /belongs to another shard; skipped/);

    for (const shard of [0, 1]) {
      const messages = await consumeAll(BROKERS, rawTopic('itest', feed, shard), LIMIT);
      assert.equal(messages.length, LIMIT, `shard ${shard}: every generated record is in its topic, once`);
      const keys = new Set(messages.map((m) => m.key));
      for (const key of keys) assert.equal(shardOf(key, 2), shard, `${key} belongs to shard ${shard}`);
      const decoded = messages.map((m) => raw.decode(m.value));
      assert.ok(decoded.some((r) => r.payload === 'chain') || shard === 1 || !keys.has('IDX_I:13'));
      for (const [i, r] of decoded.entries()) {
        const key =
          r.payload === 'tick'
            ? r.tick.meta?.underlying || r.tick.instrument.id
            : r.payload === 'chain'
              ? r.chain.underlying.id
              : '';
        assert.equal(key, messages[i]?.key, 'the Kafka key is the instrument id (the underlying for a chain or an option tick)');
      }
    }
  });
});
