// `stockify ingestion`: one process per shard. Reads the shard file, keeps only this shard's
// instruments, runs the configured source (simulator, replay or Dhan) and the gRPC Ingest service
// into market.raw.<ns>.<feed>.<shard>, refused input into market.dlq.<ns>.<feed>.
import { instrumentId } from '../core/messages.ts';
import { parseShardStart, ShardProcess } from '../core/shard-process.ts';
import { trackConnectionState } from './connection-state.ts';
import { carriedByFile } from './dhan/budget.ts';
import { INGESTION_OPTIONS, ingestionFlags } from './flags.ts';
import { newProducerId, watchForGap } from './gap-check.ts';
import { gapEventRecorder } from './gap-event.ts';
import { overlapMsFor, Readiness } from './handover.ts';
import { createIngestionMetrics } from './metrics.ts';
import { Pipeline } from './pipeline.ts';
import { runSource } from './run-source.ts';
import { ownInstruments } from './shard-instruments.ts';
import { flushPublisher, ShardProducer, startPublisher } from './shard-producer.ts';
import type { SourceName } from './source.ts';
import { buildSource, dhanConfigFor } from './source-factory.ts';
import { ingestService } from './status.ts';

const USAGE = `Usage: stockify ingestion [options]

Runs one ingestion shard: the shard file's source (simulator, replay or dhan) and the gRPC Ingest
service, publishing to market.raw.<FEED_NAMESPACE>.<FEED_NAME>.<SHARD_INDEX>.

Environment: KAFKA_BROKERS, FEED_NAME, FEED_NAMESPACE, SHARD_INDEX, SHARD_COUNT, INSTRUMENTS_FILE,
GRPC_PORT (50051), METRICS_PORT (9464), LOG_LEVEL; for source dhan also DHAN_CLIENT_ID,
DHAN_ACCESS_TOKEN, DHAN_FEED_URL, DHAN_API_URL and DHAN_SCRIP_MASTER_URL (optional: the instrument
master to fetch when --scrip-master is not given).

Options:
  --max-buffered <n>       publisher buffer bound, records (default 100000)
  --batch-size <n>         messages per Kafka batch (default 1000)
  --linger-ms <n>          how long a partial batch waits (default 20)
  --compression <c>        none | gzip (default none)
  --max-skew-seconds <n>   allowed |exchange time − now| for live sources (default 600)
  --as-fast-as-possible    simulator: do not pace by the wall clock
  --limit <n>              simulator: stop after n records
  --exit-when-done         exit 0 once the source has finished and everything is published
  --scrip-master <path>    dhan: api-scrip-master.csv, for option security ids and live option
                           contracts (each optionChain's expiries × strikes around the money)
  -h, --help               this text`;

export async function run(args: string[]): Promise<number> {
  const start = parseShardStart(args, {
    component: 'ingestion',
    usage: USAGE,
    options: INGESTION_OPTIONS,
    flags: ingestionFlags,
    shardFileMustMatch: true,
    derive: dhanConfigFor,
  });
  if (!start.ok) return start.exitCode;
  const { config, flags, shard: file } = start;
  const proc = new ShardProcess(start);
  const { log, lifecycle } = proc;
  const instruments = ownInstruments(file, config.SHARD_INDEX, config.SHARD_COUNT, log);
  // A Dhan shard may carry instruments of shards without a connection, publishing to their topics.
  const carried = carriedByFile(file);
  const metrics = createIngestionMetrics(proc.registry, [file.source.type]);
  const producer = new ShardProducer(proc.kafka);
  try {
    await proc.provisionTopics([...new Set(carried.map((c) => c.home))]);
    await producer.connect();
  } catch (err) {
    return proc.fail(err, 'cannot reach Kafka');
  }
  lifecycle.onStop('kafka producer', () => producer.disconnect());
  const publisher = startPublisher(producer, flags, metrics, log);
  lifecycle.onStop('publisher (flush)', () => flushPublisher(publisher, log));

  const producerId = newProducerId();
  const source = await buildSource({ file, instruments, dhan: start.derived, flags, log, metrics });
  const pipeline = new Pipeline({
    namespace: config.FEED_NAMESPACE,
    feed: config.FEED_NAME,
    shardIndex: config.SHARD_INDEX,
    shardCount: config.SHARD_COUNT,
    known: new Set([...instruments.map((i) => instrumentId(i.segment, i.securityId)), ...carried.map((c) => c.id)]),
    skewCheckedSources: new Set<SourceName>(['dhan', 'grpc']),
    maxSkewMs: flags.maxSkewMs,
    producerId,
    publisher,
    metrics,
    log,
  });
  trackConnectionState(source, metrics);
  const readiness = new Readiness(instruments.length === 0);
  await proc.serve({
    ready: () => readiness.ready(source.state(), publisher.healthy, pipeline.accepted > 0),
    status: () =>
      proc.shardStatus({
        instruments: instruments.length,
        ticksPerSecond: pipeline.ticksPerSecond(),
        lastTickMs: pipeline.lastTickMs,
        connectionState: source.state(),
        lag: publisher.depth,
        errors: pipeline.errors,
      }),
    services: [ingestService(pipeline, publisher)],
  });
  log.info(
    { source: file.source.type, instruments: instruments.length, topic: pipeline.rawTopic, maxBuffered: flags.maxBuffered },
    'ingestion shard started',
  );
  await watchForGap(
    {
      kafka: proc.kafka,
      topic: pipeline.rawTopic,
      producerId,
      namespace: config.FEED_NAMESPACE,
      feed: config.FEED_NAME,
      shard: config.SHARD_INDEX,
      instrumentIds: instruments.map((i) => instrumentId(i.segment, i.securityId)),
      source: source.name,
      sink: pipeline,
      firstTick: pipeline.firstTick,
      registry: proc.registry,
      log,
      recordEvent: gapEventRecorder(log),
    },
    lifecycle,
  );
  const stopped = proc.untilStopped();
  return runSource({
    source,
    pipeline,
    publisher,
    lifecycle,
    stopped,
    exitWhenDone: flags.exitWhenDone,
    overlapMs: overlapMsFor(source.name),
    log,
  });
}
