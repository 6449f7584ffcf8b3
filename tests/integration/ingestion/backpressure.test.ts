// The publisher's bound in a real process against the real broker: with a buffer of 100 records and
// a source that could go far faster than that, the simulator is paused and resumed many times and
// every record still reaches Kafka, once. (The pause/resume steps themselves are specified in
// tests/unit/ingestion/publisher.test.ts.)
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { rawTopic } from '../../../services/core/topics.ts';
import {
  BROKERS,
  baseEnv,
  consumeAll,
  deleteTopics,
  runId,
  startIngestion,
  stopProcess,
  within,
  writeShardFile,
} from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const feed = `bp-${runId()}`;
after(() => deleteTopics(BROKERS, feed));

describe('bounded buffer against the real broker', () => {
  test('a 100-record buffer under an as-fast-as-possible simulator drops nothing: all 4000 records in Kafka, once', {
    timeout: 120_000,
  }, async () => {
    const LIMIT = 4000;
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'simulator', seed: 9, ticksPerSecond: 1000, chainSnapshotsPerSecond: 1 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: [
        { symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', optionChain: { expiries: 1, strikes: 4 } },
        { symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' },
      ],
    });
    const proc = startIngestion(await baseEnv(feed, 0, 1, file), [
      '--as-fast-as-possible',
      '--limit',
      String(LIMIT),
      '--max-buffered',
      '100',
      '--batch-size',
      '50',
      '--exit-when-done',
    ]);
    try {
      const code = await within(proc.exited, 90_000);
      assert.equal(code, 0, proc.output().slice(-3000));
    } finally {
      await stopProcess(proc);
    }
    assert.match(proc.output(), /"maxBuffered":100/, 'the bound was in force');
    const messages = await consumeAll(BROKERS, rawTopic('itest', feed, 0), LIMIT, 30_000);
    assert.equal(messages.length, LIMIT, 'every record, none twice');
    const ids = new Set(
      messages.map((m) => {
        const r = raw.decode(m.value);
        return r.payload === 'tick'
          ? `tick|${r.tick.instrument.id}|${r.tick.seq}`
          : r.payload === 'chain'
            ? `chain|${r.chain.underlying.id}|${r.chain.expiry}|${r.chain.seq}`
            : '';
      }),
    );
    assert.equal(ids.size, LIMIT, 'all distinct');
  });
});
