// ConfigMap <feed>-shard-<i>: the shard file (INSTRUMENTS_FILE) of one shard.

import { instrumentId } from '../../services/core/messages.ts';
import type { DhanShardBudget, InstrumentSpec, ShardFile, SourceSpec } from '../../services/core/shardfile.ts';
import { assignShards } from '../../services/core/sharding.ts';
import type { MarketFeed, MarketFeedSpec } from '../crd/types.ts';
import type { FeedBudget } from './dhan-budget.ts';
import { configMapName, objectMeta, SHARD_FILE_KEY } from './meta.ts';
import type { DesiredConfigMap } from './objects.ts';

type Instrument = MarketFeedSpec['instruments'][number];

/** The instruments of every shard, by rendezvous hashing of their instrument ids. */
export function shardInstruments(spec: MarketFeedSpec, shardCount = spec.shards): Instrument[][] {
  return assignShards(spec.instruments, shardCount, (i) => instrumentId(i.segment, i.securityId));
}

/** A shard's share of the Dhan account as its file says it: connections by instrument id, carried specs in full. */
function budgetOf(spec: MarketFeedSpec, plan: FeedBudget, shard: number): DhanShardBudget {
  const mine = plan.shards[shard];
  const byId = new Map<string, Instrument>(spec.instruments.map((i) => [instrumentId(i.segment, i.securityId), i]));
  const carried = (mine?.connections ?? [])
    .flatMap((c) => c.instruments)
    .filter((i) => i.home !== shard)
    .map((i) => byId.get(i.id))
    .filter((i): i is Instrument => i !== undefined);
  return {
    account: plan.account,
    connections: (mine?.connections ?? []).map((c) => ({
      slot: c.slot,
      instruments: c.instruments.map((i) => ({ id: i.id, home: i.home, optionContracts: i.optionContracts })),
    })),
    carried: carried.map(instrumentOf),
    ...(mine?.chain ? { chain: mine.chain } : {}),
  };
}

/** The shard file's source: the spec is already defaulted from the CRD schema, so nothing is filled in here. */
function sourceOf(spec: MarketFeedSpec, budget?: DhanShardBudget): SourceSpec {
  const s = spec.source;
  switch (s.type) {
    case 'simulator': {
      const { seed, ticksPerSecond, chainSnapshotsPerSecond, startTime } = s.simulator;
      return { type: 'simulator', seed, ticksPerSecond, chainSnapshotsPerSecond, ...(startTime ? { startTime } : {}) };
    }
    case 'replay': {
      if (!s.replay) throw new Error('spec.source.replay is required when source.type is replay');
      const { path, speed, format } = s.replay;
      return { type: 'replay', path, speed, ...(format ? { format } : {}) };
    }
    case 'dhan': {
      if (!s.dhan) throw new Error('spec.source.dhan is required when source.type is dhan');
      return {
        type: 'dhan',
        mode: s.dhan.mode,
        optionChainPollSeconds: s.dhan.optionChainPollSeconds,
        ...(budget ? { budget } : {}),
      };
    }
  }
}

const instrumentOf = (i: Instrument): InstrumentSpec => ({
  symbol: i.symbol,
  securityId: i.securityId,
  segment: i.segment,
  kind: i.kind,
  tickSize: i.tickSize,
  lotSize: i.lotSize,
  ...(i.optionChain ? { optionChain: i.optionChain } : {}),
  ...(i.simulator ? { simulator: i.simulator } : {}),
});

/** One shard's file; `dhan` is the feed's planned Dhan budget (dhan-budget.ts), for a Dhan source. */
export function shardFile(
  feed: MarketFeed,
  shard: number,
  instruments = shardInstruments(feed.spec)[shard] ?? [],
  dhan?: FeedBudget,
): ShardFile {
  const spec = feed.spec;
  return {
    feed: feed.metadata.name,
    namespace: feed.metadata.namespace,
    shard,
    shardCount: spec.shards,
    source: sourceOf(spec, dhan ? budgetOf(spec, dhan, shard) : undefined),
    kafka: { partitionsPerShard: spec.kafka.partitionsPerShard, replicationFactor: spec.kafka.replicationFactor },
    pricing: { riskFreeRate: spec.pricing.riskFreeRate, dividendYield: spec.pricing.dividendYield },
    retentionDays: spec.retentionDays,
    storage: {
      retention: {
        ...(spec.storage.retention.ticks !== undefined ? { ticks: spec.storage.retention.ticks } : {}),
        ...(spec.storage.retention.optionQuotes !== undefined ? { optionQuotes: spec.storage.retention.optionQuotes } : {}),
        bars1m: spec.storage.retention.bars1m,
        gex: spec.storage.retention.gex,
      },
      compressAfterDays: spec.storage.compressAfterDays,
    },
    redis: { latestTtlSeconds: spec.redis.latestTtlSeconds },
    instruments: instruments.map(instrumentOf),
  };
}

export function shardConfigMap(feed: MarketFeed, file: ShardFile): DesiredConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(feed, configMapName(feed.metadata.name, file.shard), 'shard', file.shard),
    data: { [SHARD_FILE_KEY]: `${JSON.stringify(file, null, 2)}\n` },
  };
}
