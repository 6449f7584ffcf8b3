// `stockify ingestion`: one process per shard. Reads the shard file, keeps only this shard's
// instruments, runs the configured source (simulator, replay or Dhan) and the gRPC Ingest service
// into market.raw.<ns>.<feed>.<shard>, refused input into market.dlq.<ns>.<feed>.
import { readFileSync } from 'node:fs';
import { CompressionTypes, Partitioners, type Producer } from 'kafkajs';
import { parseCommand } from '../core/cli.ts';
import { ConfigError, loadConfig } from '../core/config.ts';
import { startGrpcServer } from '../core/grpc.ts';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import { Lifecycle } from '../core/lifecycle.ts';
import { createLogger, type Logger } from '../core/log.ts';
import { instrumentId, type ShardStatus } from '../core/messages.ts';
import { createRegistry, serveMetrics } from '../core/metrics.ts';
import { type InstrumentSpec, readShardFile, type ShardFile, ShardFileError } from '../core/shardfile.ts';
import { shardOf } from '../core/sharding.ts';
import { DLQ_PARTITIONS, dlqTopic, rawTopic } from '../core/topics.ts';
import { parseScripMaster } from './dhan/scrip-master.ts';
import { DhanSource } from './dhan/source.ts';
import { createIngestionMetrics } from './metrics.ts';
import { Pipeline } from './pipeline.ts';
import { Publisher } from './publisher.ts';
import { ReplaySource } from './replay/source.ts';
import { SimulatorSource } from './simulator/source.ts';
import type { ConnectionState, Source, SourceName } from './source.ts';
import { ingestService, shardService } from './status.ts';

const USAGE = `Usage: stockify ingestion [options]

Runs one ingestion shard: the shard file's source (simulator, replay or dhan) and the gRPC Ingest
service, publishing to market.raw.<FEED_NAMESPACE>.<FEED_NAME>.<SHARD_INDEX>.

Environment: KAFKA_BROKERS, FEED_NAME, FEED_NAMESPACE, SHARD_INDEX, SHARD_COUNT, INSTRUMENTS_FILE,
GRPC_PORT (50051), METRICS_PORT (9464), LOG_LEVEL; for source dhan also DHAN_CLIENT_ID,
DHAN_ACCESS_TOKEN, DHAN_FEED_URL, DHAN_API_URL.

Options:
  --max-buffered <n>       publisher buffer bound, records (default 100000)
  --batch-size <n>         messages per Kafka batch (default 1000)
  --linger-ms <n>          how long a partial batch waits (default 20)
  --compression <c>        none | gzip (default none)
  --max-skew-seconds <n>   allowed |exchange time − now| for live sources (default 600)
  --as-fast-as-possible    simulator: do not pace by the wall clock
  --limit <n>              simulator: stop after n records
  --exit-when-done         exit 0 once the source has finished and everything is published
  --scrip-master <path>    dhan: api-scrip-master.csv for option security ids
  -h, --help               this text`;

/** The shard file's instruments that really belong to this shard; the others are logged and left out. */
export function ownInstruments(file: ShardFile, shardIndex: number, shardCount: number, log: Logger): InstrumentSpec[] {
  const own: InstrumentSpec[] = [];
  for (const spec of file.instruments) {
    const id = instrumentId(spec.segment, spec.securityId);
    const owner = shardOf(id, shardCount);
    if (owner !== shardIndex) {
      log.error(
        { instrument: id, symbol: spec.symbol, owner, shard: shardIndex },
        'instrument in the shard file belongs to another shard; skipped',
      );
      continue;
    }
    own.push(spec);
  }
  return own;
}

const intOption = (name: string, v: string | undefined, fallback: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name}`, `is invalid: '${v}' is not a non-negative integer`);
  return n;
};

export async function run(args: string[]): Promise<number> {
  const cmd = parseCommand(args, {
    usage: USAGE,
    options: {
      'max-buffered': { type: 'string' },
      'batch-size': { type: 'string' },
      'linger-ms': { type: 'string' },
      compression: { type: 'string' },
      'max-skew-seconds': { type: 'string' },
      'as-fast-as-possible': { type: 'boolean' },
      limit: { type: 'string' },
      'exit-when-done': { type: 'boolean' },
      'scrip-master': { type: 'string' },
    },
  });
  if (!cmd.ok) return cmd.exitCode;
  const flags = cmd.parsed.values;

  let env: ReturnType<typeof loadBaseConfig>;
  let file: ShardFile;
  let numbers: { maxBuffered: number; batchSize: number; lingerMs: number; skewMs: number; limit: number | undefined };
  try {
    env = loadBaseConfig();
    file = readShardFile(env.INSTRUMENTS_FILE);
    numbers = {
      maxBuffered: Math.max(1, intOption('max-buffered', flags['max-buffered'], 100_000)),
      batchSize: Math.max(1, intOption('batch-size', flags['batch-size'], 1_000)),
      lingerMs: intOption('linger-ms', flags['linger-ms'], 20),
      skewMs: intOption('max-skew-seconds', flags['max-skew-seconds'], 600) * 1000,
      limit: flags.limit === undefined ? undefined : intOption('limit', flags.limit, 0),
    };
    if (flags.compression !== undefined && !['none', 'gzip'].includes(flags.compression)) {
      throw new ConfigError('--compression', `is invalid: '${flags.compression}' (none | gzip)`);
    }
    if (file.shard !== env.SHARD_INDEX || file.shardCount !== env.SHARD_COUNT) {
      throw new ConfigError(
        'INSTRUMENTS_FILE',
        `is invalid: it is for shard ${file.shard}/${file.shardCount}, but SHARD_INDEX/SHARD_COUNT say ${env.SHARD_INDEX}/${env.SHARD_COUNT}`,
      );
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ShardFileError) {
      process.stderr.write(`${err.message.startsWith('config:') ? err.message : `config: ${err.message}`}\n`);
      return 2;
    }
    throw err;
  }

  const log = createLogger({
    component: 'ingestion',
    level: env.LOG_LEVEL,
    base: { feed: env.FEED_NAME, shard: env.SHARD_INDEX },
  });
  const lifecycle = new Lifecycle(log);
  const instruments = ownInstruments(file, env.SHARD_INDEX, env.SHARD_COUNT, log);
  const known = new Set(instruments.map((i) => instrumentId(i.segment, i.securityId)));

  let dhanEnv: { DHAN_CLIENT_ID: string; DHAN_ACCESS_TOKEN: string; DHAN_FEED_URL: string; DHAN_API_URL: string } | undefined;
  if (file.source.type === 'dhan') {
    try {
      dhanEnv = loadConfig(['DHAN_CLIENT_ID', 'DHAN_ACCESS_TOKEN', 'DHAN_FEED_URL', 'DHAN_API_URL']);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return 2;
      }
      throw err;
    }
  }

  const registry = createRegistry({
    component: 'ingestion',
    feed: env.FEED_NAME,
    namespace: env.FEED_NAMESPACE,
    shard: String(env.SHARD_INDEX),
  });
  const metrics = createIngestionMetrics(registry);
  const kafka = createKafka(env.KAFKA_BROKERS, `stockify-ingestion-${env.FEED_NAME}-${env.SHARD_INDEX}`, log);
  const admin = kafka.admin();
  const newProducer = (): Producer =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  let producer = newProducer();
  try {
    await admin.connect();
    const { created } = await ensureTopics(admin, [
      {
        topic: rawTopic(env.FEED_NAMESPACE, env.FEED_NAME, env.SHARD_INDEX),
        partitions: file.kafka.partitionsPerShard,
        replicationFactor: file.kafka.replicationFactor,
      },
      {
        topic: dlqTopic(env.FEED_NAMESPACE, env.FEED_NAME),
        partitions: DLQ_PARTITIONS,
        replicationFactor: file.kafka.replicationFactor,
      },
    ]);
    if (created.length > 0) log.info({ topics: created }, 'created Kafka topics');
    await admin.disconnect();
    await producer.connect();
  } catch (err) {
    log.error({ err }, 'cannot reach Kafka');
    process.stderr.write(
      `stockify: ingestion: cannot reach Kafka at ${env.KAFKA_BROKERS.join(',')}: ${(err as Error).message}\n`,
    );
    return 1;
  }
  lifecycle.onStop('kafka producer', () => producer.disconnect());

  const publisher = new Publisher(producer, {
    maxBuffered: numbers.maxBuffered,
    batchSize: numbers.batchSize,
    lingerMs: numbers.lingerMs,
    compression: flags.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    log,
    renewProducer: async () => {
      // The old producer's idempotence state is useless; a new one gets a new producer id.
      const old = producer;
      await Promise.race([old.disconnect(), new Promise((r) => setTimeout(r, 5_000).unref())]).catch(() => undefined);
      const fresh = newProducer();
      try {
        await fresh.connect();
      } catch (err) {
        await fresh.disconnect().catch(() => undefined);
        throw err;
      }
      producer = fresh;
      return fresh;
    },
    hooks: {
      published: (source, n) => metrics.published.inc({ source }, n),
      latency: (s) => metrics.publishLatency.observe(s),
      error: () => metrics.producerErrors.inc(),
      depth: (d) => metrics.bufferDepth.set(d),
    },
  });
  publisher.start();
  lifecycle.onStop('publisher (flush)', async () => {
    const left = await publisher.close(30_000);
    if (left === 0) log.info({ published: publisher.publishedCount }, 'publisher flushed');
  });

  const source = buildSource(file, instruments, dhanEnv, numbers.limit, flags, log, metrics);
  const pipeline = new Pipeline({
    namespace: env.FEED_NAMESPACE,
    feed: env.FEED_NAME,
    shardIndex: env.SHARD_INDEX,
    shardCount: env.SHARD_COUNT,
    known,
    skewCheckedSources: new Set<SourceName>(['dhan', 'grpc']),
    maxSkewMs: numbers.skewMs,
    publisher,
    metrics,
    log,
  });

  const states: ConnectionState[] = [
    'STARTING',
    'RUNNING',
    'CONNECTED',
    'RECONNECTING',
    'EXPIRED_TOKEN',
    'FINISHED',
    'STOPPED',
    'FAILED',
  ];
  const status = (): ShardStatus => ({
    feed: env.FEED_NAME,
    namespace: env.FEED_NAMESPACE,
    component: 'ingestion',
    shardIndex: env.SHARD_INDEX,
    shardCount: env.SHARD_COUNT,
    instruments: instruments.length,
    ticksPerSecond: pipeline.ticksPerSecond(),
    lastTickMs: pipeline.lastTickMs,
    connectionState: source.state(),
    lag: publisher.depth,
    errors: pipeline.errors,
  });
  const refreshState = (): void => {
    for (const s of states) metrics.connectionState.set({ state: s }, s === source.state() ? 1 : 0);
  };
  refreshState();

  const http = await serveMetrics(registry, env.METRICS_PORT, {
    live: () => true,
    ready: () => publisher.healthy && source.state() !== 'EXPIRED_TOKEN' && source.state() !== 'FAILED',
  });
  lifecycle.onStop('metrics server', () => http.close());
  const grpcServer = await startGrpcServer({
    port: env.GRPC_PORT,
    services: [shardService(status), ingestService(pipeline, publisher)],
    log,
  });
  lifecycle.onStop('gRPC server', () => grpcServer.drain(10_000));

  const abort = new AbortController();
  lifecycle.onStop('source', () => abort.abort());
  log.info(
    { source: file.source.type, instruments: instruments.length, topic: pipeline.rawTopic, maxBuffered: numbers.maxBuffered },
    'ingestion shard started',
  );
  const stopped = lifecycle.handleSignals();
  const finished = source.run(pipeline, abort.signal).then(
    () => 'finished' as const,
    (err: unknown) => {
      log.error({ err }, 'source failed');
      return 'failed' as const;
    },
  );
  setInterval(refreshState, 5_000).unref();
  const first = await Promise.race([stopped.then(() => 'signal' as const), finished]);
  if (first === 'failed') {
    await lifecycle.stop();
    exitEvenIfHandlesLinger(log);
    process.stderr.write('stockify: ingestion: the source failed (see the log)\n');
    return 1;
  }
  if (first === 'finished') {
    log.info({ accepted: pipeline.accepted, rejected: pipeline.rejected }, 'source finished');
    if (flags['exit-when-done']) {
      // The source is done, not interrupted: wait for Kafka to take every record, however long an
      // outage lasts (the shutdown flush has a deadline; this must not). A signal still stops it.
      const drained = await Promise.race([
        publisher.drained().then(() => 'drained' as const),
        stopped.then(() => 'signal' as const),
      ]);
      if (drained === 'drained') {
        log.info({ published: publisher.publishedCount }, 'every record is in Kafka');
        await lifecycle.stop();
      }
      exitEvenIfHandlesLinger(log);
      return 0;
    }
  }
  await stopped;
  exitEvenIfHandlesLinger(log);
  return 0;
}

/**
 * Once everything is stopped the process should end by itself. kafkajs can leave a socket open when
 * its disconnect races a reconnect in progress (seen after a broker outage), which would keep a
 * finished process alive forever; this unref'd timer only fires if something like that lingers.
 */
function exitEvenIfHandlesLinger(log: Logger): void {
  setTimeout(() => {
    log.warn('stopped, but open handles kept the process alive for 5 s; exiting');
    process.exit();
  }, 5_000).unref();
}

function loadBaseConfig() {
  return loadConfig([
    'KAFKA_BROKERS',
    'FEED_NAME',
    'FEED_NAMESPACE',
    'SHARD_INDEX',
    'SHARD_COUNT',
    'INSTRUMENTS_FILE',
    'GRPC_PORT',
    'METRICS_PORT',
    'LOG_LEVEL',
  ]);
}

function buildSource(
  file: ShardFile,
  instruments: InstrumentSpec[],
  dhanEnv: { DHAN_CLIENT_ID: string; DHAN_ACCESS_TOKEN: string; DHAN_FEED_URL: string; DHAN_API_URL: string } | undefined,
  limit: number | undefined,
  flags: { 'as-fast-as-possible'?: boolean; 'scrip-master'?: string },
  log: Logger,
  metrics: ReturnType<typeof createIngestionMetrics>,
): Source {
  const src = file.source;
  switch (src.type) {
    case 'simulator':
      return new SimulatorSource(
        {
          seed: src.seed,
          ticksPerSecond: src.ticksPerSecond,
          chainSnapshotsPerSecond: src.chainSnapshotsPerSecond,
          startTimeMs: src.startTime ? Date.parse(src.startTime) : Date.now(),
          instruments,
          pricing: file.pricing,
        },
        { realTime: !flags['as-fast-as-possible'], limit },
      );
    case 'replay':
      return new ReplaySource({ path: src.path, format: src.format, speed: src.speed });
    case 'dhan': {
      if (!dhanEnv) throw new Error('dhan source without DHAN_* configuration');
      const master = flags['scrip-master'] ? parseScripMaster(readFileSync(flags['scrip-master'], 'utf8')) : undefined;
      return new DhanSource({
        feedUrl: dhanEnv.DHAN_FEED_URL,
        apiUrl: dhanEnv.DHAN_API_URL,
        clientId: dhanEnv.DHAN_CLIENT_ID,
        accessToken: dhanEnv.DHAN_ACCESS_TOKEN,
        mode: src.mode,
        instruments: instruments.map((i) => ({ segment: i.segment, securityId: i.securityId, symbol: i.symbol })),
        chains: instruments
          .filter((i) => i.optionChain)
          .map((i) => ({
            segment: i.segment,
            securityId: i.securityId,
            symbol: i.symbol,
            optionSegment: i.optionChain?.segment ?? 'NSE_FNO',
            lotSize: i.optionChain?.lotSize ?? 75,
            expiries: i.optionChain?.expiries ?? 2,
            strikes: i.optionChain?.strikes ?? 20,
          })),
        chainPollMs: src.optionChainPollSeconds * 1000,
        scripMaster: master,
        log,
        metrics,
      });
    }
  }
}
