import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { specDefault } from '../../../operator/crd/schema.ts';
import { parseShardFile } from '../../../services/core/shardfile.ts';

const minimal = (source: Record<string, unknown>) => ({
  feed: 'nifty',
  namespace: 'markets',
  shard: 0,
  shardCount: 1,
  source,
  kafka: {},
  instruments: [{ symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', optionChain: {} }],
});

describe('shard-file defaults are the MarketFeed schema’s own', () => {
  test('a hand-written shard file gets exactly what the CRD would default', () => {
    const file = parseShardFile(minimal({ type: 'simulator' }));
    const [nifty] = file.instruments;
    assert.equal(nifty?.lotSize, specDefault('instruments[].lotSize'));
    assert.equal(nifty?.tickSize, specDefault('instruments[].tickSize'));
    assert.equal(nifty?.optionChain?.lotSize, specDefault('instruments[].optionChain.lotSize'));
    assert.equal(nifty?.optionChain?.strikes, specDefault('instruments[].optionChain.strikes'));
    assert.deepEqual(file.source, {
      type: 'simulator',
      seed: specDefault('source.simulator.seed'),
      ticksPerSecond: specDefault('source.simulator.ticksPerSecond'),
      chainSnapshotsPerSecond: specDefault('source.simulator.chainSnapshotsPerSecond'),
    });
    assert.equal(file.kafka.partitionsPerShard, specDefault('kafka.partitionsPerShard'));
    assert.equal(file.pricing.riskFreeRate, specDefault('pricing.riskFreeRate'));
    assert.equal(file.retentionDays, specDefault('retentionDays'));
  });

  test('a path the schema gives no default is refused, naming it', () => {
    assert.throws(() => specDefault('instruments[].symbol'), /no default at spec\.instruments\[\]\.symbol/);
    assert.throws(() => specDefault('nowhere.at.all'), /no default at spec\.nowhere\.at\.all/);
  });
});
