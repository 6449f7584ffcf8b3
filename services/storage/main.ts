// `stockify storage`: one storage shard. Consumes market.enriched.<ns>.<feed>.<i>, writes history
// to PostgreSQL and live state to Redis, and serves gRPC MarketData and Shard status.
import { specDefault } from '../../operator/crd/schema.ts';
import { parseShardStart, ShardProcess } from '../core/shard-process.ts';
import { consumerGroup, dlqTopic, enrichedTopic } from '../core/topics.ts';
import { StorageConsumer, StorageStatus } from './consumer.ts';
import { StorageDatabase } from './database.ts';
import { LiveWriter, liveConnections } from './live.ts';
import { chainCache, LiveHub, marketDataService } from './market-data.ts';
import { storageMetrics } from './metrics.ts';
import { HistoryReader } from './queries.ts';
import { historyPolicy } from './timescale.ts';
import { PgWriter } from './writer.ts';

const USAGE = `Usage: stockify storage

Runs one storage shard: consumes market.enriched.<FEED_NAMESPACE>.<FEED_NAME>.<SHARD_INDEX>, writes
ticks, option quotes (IV, Greeks), 1-minute bars and GEX to PostgreSQL (idempotent batched COPY,
daily time partitions), keeps latest:<instrument> and publishes live:<instrument> in Redis, and
serves gRPC MarketData and Shard status on GRPC_PORT.

Environment:
  KAFKA_BROKERS, DATABASE_URL, REDIS_URL, FEED_NAME, FEED_NAMESPACE, SHARD_INDEX, SHARD_COUNT,
  INSTRUMENTS_FILE (retentionDays, storage.retention, storage.compressAfterDays, kafka.partitionsPerShard), GRPC_PORT (50051), METRICS_PORT (9464),
  LOG_LEVEL, DB_SCHEMA (PostgreSQL schema of the tables, default public)`;

export async function run(args: string[]): Promise<number> {
  const start = parseShardStart(args, {
    component: 'storage',
    usage: USAGE,
    env: ['DATABASE_URL', 'REDIS_URL', 'DB_SCHEMA', 'STORAGE_TEST_CRASH_BEFORE_COMMIT'],
  });
  if (!start.ok) return start.exitCode;
  const { config, shard } = start;
  const proc = new ShardProcess(start);
  const { log, lifecycle } = proc;
  const metrics = storageMetrics(proc.registry);
  const status = new StorageStatus();
  const { FEED_NAMESPACE: ns, FEED_NAME: feed, SHARD_INDEX: index, DB_SCHEMA: schema } = config;
  try {
    const db = new StorageDatabase(config.DATABASE_URL, schema, log);
    lifecycle.onStop('postgres', () => db.close());
    const info = await db.migrate();
    const policy = historyPolicy(shard);
    db.startMaintenance(info, policy, (err) => {
      metrics.dbErrors.inc({ operation: 'partition_maintenance' });
      log.warn({ err }, 'partition maintenance failed; retrying at the next interval');
    });
    const live = liveConnections(config.REDIS_URL, proc.clientId, (client, err) => {
      metrics.redisErrors.inc({ operation: `connection_${client}` });
      log.debug({ err, client }, 'Redis connection error');
    });
    lifecycle.onStop('redis', () => live.close());

    await proc.provisionTopics();
    const topic = enrichedTopic(ns, feed, index);
    const consumer = new StorageConsumer({
      kafka: proc.kafka,
      topic,
      groupId: consumerGroup('storage', ns, feed, index),
      dlqTopic: dlqTopic(ns, feed),
      writer: new PgWriter(db.writePool, schema, { crashBeforeCommit: config.STORAGE_TEST_CRASH_BEFORE_COMMIT }),
      // Absent from a shard file written before the setting existed: the MarketFeed's default.
      live: new LiveWriter(live.redis, {
        latestTtlSeconds: shard.redis?.latestTtlSeconds ?? specDefault('redis.latestTtlSeconds'),
      }),
      metrics,
      status,
      log,
      concurrency: shard.kafka.partitionsPerShard,
    });
    lifecycle.onStop('consumer', () => consumer.stop());
    const reader = new HistoryReader(db.readPool, schema, info.strategy, { lookbackDays: policy.retentionDays.ticks });
    const hub = new LiveHub(live.sub);
    const ports = await proc.serve({
      ready: () => consumer.isRunning && status.databaseUp,
      status: () => proc.shardStatus(status.activity(shard.instruments.length)),
      services: [
        marketDataService({ reader, redis: live.redis, hub, chains: chainCache(reader, live.redis, hub), metrics, log }),
      ],
    });
    await consumer.start();
    log.info({ topic, schema, strategy: info.strategy, ...ports }, 'storage shard running');
  } catch (err) {
    return proc.fail(err);
  }
  await proc.untilStopped();
  return 0;
}
