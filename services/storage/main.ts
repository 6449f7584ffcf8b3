// `stockify storage`: one storage shard. Consumes market.enriched.<ns>.<feed>.<i>, writes history
// to PostgreSQL and live state to Redis, and serves gRPC MarketData and Shard status.
import type * as grpc from '@grpc/grpc-js';
import pg from 'pg';
import { parseCommand } from '../core/cli.ts';
import { loadConfigOrExit } from '../core/config.ts';
import { startGrpcServer } from '../core/grpc.ts';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import { fatal, Lifecycle } from '../core/lifecycle.ts';
import { createLogger, type Logger } from '../core/log.ts';
import type { ShardStatus } from '../core/messages.ts';
import { createRegistry, serveMetrics } from '../core/metrics.ts';
import { serviceDefinition } from '../core/proto.ts';
import { readShardFile, ShardFileError } from '../core/shardfile.ts';
import { consumerGroup, DLQ_PARTITIONS, dlqTopic, enrichedTopic } from '../core/topics.ts';
import { StorageConsumer, StorageStatus } from './consumer.ts';
import { LiveWriter, redisClient } from './live.ts';
import { LiveHub, marketDataImplementation } from './market-data.ts';
import { storageMetrics } from './metrics.ts';
import { migrate, type SchemaInfo, validSchemaName } from './migrations.ts';
import { maintainPartitions } from './partitions.ts';
import { HistoryReader } from './queries.ts';
import { PgWriter } from './writer.ts';

const USAGE = `Usage: stockify storage

Runs one storage shard: consumes market.enriched.<FEED_NAMESPACE>.<FEED_NAME>.<SHARD_INDEX>, writes
ticks, option quotes (IV, Greeks), 1-minute bars and GEX to PostgreSQL (idempotent batched COPY,
daily time partitions), keeps latest:<instrument> and publishes live:<instrument> in Redis, and
serves gRPC MarketData and Shard status on GRPC_PORT.

Environment:
  KAFKA_BROKERS, DATABASE_URL, REDIS_URL, FEED_NAME, FEED_NAMESPACE, SHARD_INDEX, SHARD_COUNT,
  INSTRUMENTS_FILE (retentionDays, kafka.partitionsPerShard), GRPC_PORT (50051), METRICS_PORT (9464),
  LOG_LEVEL, DB_SCHEMA (PostgreSQL schema of the tables, default public)`;

const PARTITION_MAINTENANCE_MS = 3_600_000;

/** Pool connections parse int8 as numbers (our int64s fit in 2^53). */
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(url: string, max: number, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    types: pgTypes,
  });
  // Idle connections dropped by the server (restart, failover) must not crash the process.
  pool.on('error', (err) => log.warn({ err }, 'idle PostgreSQL connection lost'));
  // A checked-out client whose connection drops emits 'error' too; its pending query is rejected
  // and handled by the caller, so the event itself only needs a listener (else it would crash).
  pool.on('connect', (client) => client.on('error', (err) => log.warn({ err }, 'PostgreSQL connection lost')));
  return pool;
}

async function migrateWhenReachable(pool: pg.Pool, schema: string, log: Logger): Promise<SchemaInfo> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await migrate(pool, schema, log);
    } catch (err) {
      const code = (err as { code?: string }).code;
      const unreachable = code === 'ECONNREFUSED' || code?.startsWith('08') || /timeout|connect/i.test((err as Error).message);
      if (!unreachable || attempt >= 60) throw err;
      log.warn({ err, attempt }, 'PostgreSQL not reachable yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(500 * (attempt + 1), 5_000)));
    }
  }
}

export async function run(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { usage: USAGE, options: {} });
  if (!cmd.ok) return cmd.exitCode;
  if (cmd.parsed.positionals.length > 0) {
    process.stderr.write(`stockify storage: unexpected argument '${cmd.parsed.positionals[0]}'\n\n${USAGE}\n`);
    return 2;
  }
  const cfg = loadConfigOrExit([
    'KAFKA_BROKERS',
    'DATABASE_URL',
    'REDIS_URL',
    'FEED_NAME',
    'FEED_NAMESPACE',
    'SHARD_INDEX',
    'SHARD_COUNT',
    'INSTRUMENTS_FILE',
    'GRPC_PORT',
    'METRICS_PORT',
    'LOG_LEVEL',
  ]);
  const schema = process.env.DB_SCHEMA || 'public';
  if (!validSchemaName(schema)) {
    process.stderr.write(`config: DB_SCHEMA is invalid: '${schema}' must be a lowercase SQL identifier\n`);
    return 2;
  }
  let shard: ReturnType<typeof readShardFile>;
  try {
    shard = readShardFile(cfg.INSTRUMENTS_FILE);
  } catch (err) {
    if (err instanceof ShardFileError) fatal('storage', err, 2);
    throw err;
  }

  const feed = cfg.FEED_NAME;
  const ns = cfg.FEED_NAMESPACE;
  const index = cfg.SHARD_INDEX;
  const log = createLogger({ component: 'storage', level: cfg.LOG_LEVEL, base: { feed, namespace: ns, shard: index } });
  const lifecycle = new Lifecycle(log);
  const registry = createRegistry({ component: 'storage', feed, namespace: ns, shard: String(index) });
  const metrics = storageMetrics(registry);
  const status = new StorageStatus();

  const writePool = createPool(cfg.DATABASE_URL, 4, log);
  const readPool = createPool(cfg.DATABASE_URL, 8, log);
  lifecycle.onStop('postgres', async () => {
    await writePool.end();
    await readPool.end();
  });
  let info: SchemaInfo;
  try {
    info = await migrateWhenReachable(writePool, schema, log);
  } catch (err) {
    fatal('storage: database migration failed', err);
  }
  const maintain = (): void => {
    maintainPartitions(writePool, info, shard.retentionDays, log).catch((err: unknown) => {
      metrics.dbErrors.inc({ operation: 'partition_maintenance' });
      log.warn({ err }, 'partition maintenance failed; retrying at the next interval');
    });
  };
  maintain();
  const maintenance = setInterval(maintain, PARTITION_MAINTENANCE_MS);
  maintenance.unref();
  lifecycle.onStop('partition maintenance', () => clearInterval(maintenance));

  const redis = redisClient(cfg.REDIS_URL, `stockify-storage-${feed}-${index}`);
  const sub = redisClient(cfg.REDIS_URL, `stockify-storage-${feed}-${index}-sub`);
  for (const [name, client] of [
    ['live', redis],
    ['subscriber', sub],
  ] as const) {
    client.on('error', (err: Error) => {
      metrics.redisErrors.inc({ operation: `connection_${name}` });
      log.debug({ err, client: name }, 'Redis connection error');
    });
  }
  lifecycle.onStop('redis', () => {
    redis.disconnect();
    sub.disconnect();
  });

  const shardStatus = (): ShardStatus => ({
    feed,
    namespace: ns,
    component: 'storage',
    shardIndex: index,
    shardCount: cfg.SHARD_COUNT,
    instruments: shard.instruments.length,
    ticksPerSecond: status.rowsPerSecond(),
    lastTickMs: status.lastTickMs,
    connectionState: status.databaseUp ? 'CONNECTED' : 'DATABASE_UNAVAILABLE',
    lag: status.totalLag(),
    errors: status.errors,
  });
  const grpcServer = await startGrpcServer({
    port: cfg.GRPC_PORT,
    log,
    services: [
      {
        name: 'stockify.v1.MarketData',
        definition: serviceDefinition('MarketData'),
        implementation: marketDataImplementation({
          reader: new HistoryReader(readPool, schema),
          redis,
          hub: new LiveHub(sub),
          metrics,
          log,
        }),
      },
      {
        name: 'stockify.v1.Shard',
        definition: serviceDefinition('Shard'),
        implementation: {
          GetStatus: ((_call, cb) => cb(null, shardStatus())) as grpc.handleUnaryCall<unknown, ShardStatus>,
        },
      },
    ],
  });
  lifecycle.onStop('grpc', () => grpcServer.drain());

  const kafka = createKafka(cfg.KAFKA_BROKERS, `stockify-storage-${feed}-${index}`, log);
  const topic = enrichedTopic(ns, feed, index);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [
      { topic, partitions: shard.kafka.partitionsPerShard, replicationFactor: shard.kafka.replicationFactor },
      { topic: dlqTopic(ns, feed), partitions: DLQ_PARTITIONS, replicationFactor: shard.kafka.replicationFactor },
    ]);
  } finally {
    await admin.disconnect();
  }
  const consumer = new StorageConsumer({
    kafka,
    topic,
    groupId: consumerGroup('storage', ns, feed, index),
    dlqTopic: dlqTopic(ns, feed),
    writer: new PgWriter(writePool, schema, { crashBeforeCommit: process.env.STORAGE_TEST_CRASH_BEFORE_COMMIT === '1' }),
    live: new LiveWriter(redis),
    metrics,
    status,
    log,
    concurrency: shard.kafka.partitionsPerShard,
  });
  lifecycle.onStop('consumer', () => consumer.stop());

  const http = await serveMetrics(registry, cfg.METRICS_PORT, {
    live: () => true,
    ready: () => consumer.isRunning && status.databaseUp,
  });
  lifecycle.onStop('metrics', () => http.close());
  await consumer.start();
  log.info(
    { topic, schema, strategy: info.strategy, grpcPort: grpcServer.port, metricsPort: http.port },
    'storage shard running',
  );

  await lifecycle.handleSignals();
  return 0;
}
