// `stockify processor`: one processor shard. Consumes market.raw.<ns>.<feed>.<i>, writes enriched
// records to market.enriched.<ns>.<feed>.<i> and refused ones to market.dlq.<ns>.<feed>, and
// serves Shard status. The Kafka loop is consumer.ts; when offsets commit, commit-pipeline.ts.
import { parseShardStart, ShardProcess } from '../core/shard-process.ts';
import { ProcessorConsumer } from './consumer.ts';
import { PROCESSOR_OPTIONS, processorFlags } from './flags.ts';
import { processorMetrics } from './metrics.ts';

// The in-process start, where the benchmarks import it from.

const USAGE = `Usage: stockify processor [--bar-grace-ms N] [--bar-partial-ms N]

Runs one processor shard: normalises raw ticks, solves implied volatility and Greeks for option
chains, computes gamma exposure and one-minute bars.

Environment:
  KAFKA_BROKERS     host:port[,host:port...]
  FEED_NAME         the MarketFeed name
  FEED_NAMESPACE    its namespace (default "default")
  SHARD_INDEX       this shard, 0 ≤ SHARD_INDEX < SHARD_COUNT
  SHARD_COUNT       shards of the feed
  INSTRUMENTS_FILE  the shard file (instruments, pricing.riskFreeRate / dividendYield)
  METRICS_PORT      /metrics, /healthz, /readyz (default 9464)
  GRPC_PORT         stockify.v1.Shard status and gRPC health (default 50051)
  LOG_LEVEL         fatal|error|warn|info|debug|trace|silent (default info)

Options:
  --bar-grace-ms N    how long (event time) a late tick may still amend a closed bar (default 5000)
  --bar-partial-ms N  minimum event time between partial bar updates per instrument (default 1000)
  --help              this text`;

export async function run(args: string[]): Promise<number> {
  const start = parseShardStart(args, {
    component: 'processor',
    usage: USAGE,
    options: PROCESSOR_OPTIONS,
    flags: processorFlags,
  });
  if (!start.ok) return start.exitCode;
  const { config, shard } = start;
  const proc = new ShardProcess(start);
  const { log, lifecycle } = proc;
  const stopped = proc.untilStopped();
  const { FEED_NAMESPACE: namespace, FEED_NAME: feed, SHARD_INDEX: shardIndex } = config;
  if (shard.shard !== shardIndex || shard.feed !== feed || shard.namespace !== namespace) {
    log.warn(
      { file: { feed: shard.feed, namespace: shard.namespace, shard: shard.shard } },
      'INSTRUMENTS_FILE names another shard than the environment; the environment decides the topics',
    );
  }
  try {
    await proc.provisionTopics();
    const consumer = new ProcessorConsumer({
      kafka: proc.kafka,
      namespace,
      feed,
      shardIndex,
      shard,
      log,
      metrics: processorMetrics(proc.registry),
      barOptions: start.flags,
    });
    lifecycle.onStop('consumer', () => consumer.stop());
    const ports = await proc.serve({
      ready: () => consumer.isReady,
      status: () => proc.shardStatus(consumer.activity()),
    });
    await consumer.start();
    log.info({ brokers: config.KAFKA_BROKERS, ...ports }, 'processor running');
  } catch (err) {
    return proc.fail(err);
  }
  await stopped;
  return 0;
}
