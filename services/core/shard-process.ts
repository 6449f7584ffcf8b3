// The start-up shape every shard process (ingestion, processor, storage) shares, so a `main.ts` only
// wires its component's parts into it.
//
//   const start = parseShardStart(args, { component: 'storage', usage: USAGE, env: ['DATABASE_URL'] });
//   if (!start.ok) return start.exitCode;   // --help printed (0); bad usage or config reported (2)
//   const proc = new ShardProcess(start);    // logger, lifecycle, metrics registry, Kafka client
//   await proc.provisionTopics();            // the shard's topics exist (shardTopicSpecs + ensureTopics)
//   proc.lifecycle.onStop('x', stopX);       // the component's own parts, stopped in reverse order
//   await proc.serve({ ready, status: () => proc.shardStatus(activity()) });
//                                            // /metrics /healthz /readyz, gRPC Shard (+ services)
//   await proc.untilStopped();               // SIGTERM/SIGINT: every registered stop has run
//
// parseShardStart reads, in one pass with one way to report a problem: the flags (parseArgs, then the
// spec's zod schema), the shard variables (SHARD_ENV) plus the spec's `env`, the shard file
// (INSTRUMENTS_FILE) and the spec's `derive` step. Any ConfigError becomes one line
// `config: <VARIABLE or --flag> <problem>` on stderr and exit code 2 (DESIGN.md §5).
// A start-up step that fails later goes through `proc.fail(err)`: everything registered is stopped,
// one line `stockify: <component>: <reason>` is written, and the exit code is 1.
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import { Authenticator, authConfigFromEnv } from './auth.ts';
import { withAuth } from './auth-grpc.ts';
import { parseCommand } from './cli.ts';
import { type Config, ConfigError, type EnvName, loadConfig, reportConfigError } from './config.ts';
import { type GrpcService, shardStatusService, startGrpcServer } from './grpc.ts';
import { createKafka, ensureTopics } from './kafka.ts';
import { exitEvenIfHandlesLinger, Lifecycle } from './lifecycle.ts';
import { createLogger, type Logger } from './log.ts';
import type { ShardStatus } from './messages.ts';
import { type Check, createRegistry, serveMetrics } from './metrics.ts';
import type { Component } from './names.ts';
import { readShardFile, type ShardFile } from './shardfile.ts';
import { shardTopicSpecs } from './topics.ts';

/** The variables every shard process reads. */
export const SHARD_ENV = [
  'KAFKA_BROKERS',
  'FEED_NAME',
  'FEED_NAMESPACE',
  'SHARD_INDEX',
  'SHARD_COUNT',
  'INSTRUMENTS_FILE',
  'GRPC_PORT',
  'METRICS_PORT',
  'LOG_LEVEL',
] as const satisfies readonly EnvName[];
export type ShardEnvName = (typeof SHARD_ENV)[number];

type FlagOptions = Parameters<typeof parseCommand>[1]['options'];
/** Flag values as parseArgs gives them, before the spec's schema types them. */
export type RawFlags = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface ShardStartSpec<K extends EnvName, F, D> {
  component: Component;
  usage: string;
  /** Variables read beyond SHARD_ENV. */
  env?: readonly K[];
  /** The flags parseArgs accepts (all strings or booleans). */
  options?: FlagOptions;
  /** Turns the raw flag values into typed flags; an issue names its flag (`config: --<flag> ...`). */
  flags?: z.ZodType<F, RawFlags>;
  /** Refuse a shard file written for another shard than SHARD_INDEX/SHARD_COUNT. */
  shardFileMustMatch?: boolean;
  /** A further parsing step that needs the shard file (e.g. variables only its source reads). */
  derive?: (shard: ShardFile) => D;
}

export interface ShardStart<K extends EnvName, F, D> {
  ok: true;
  component: Component;
  config: Config<ShardEnvName | K>;
  flags: F;
  shard: ShardFile;
  derived: D;
}

export type ShardStartResult<K extends EnvName, F, D> = ShardStart<K, F, D> | { ok: false; exitCode: number };

/** Parses everything a shard process is started with; see the header for the contract. */
export function parseShardStart<K extends EnvName = never, F = Record<string, never>, D = undefined>(
  args: string[],
  spec: ShardStartSpec<K, F, D>,
): ShardStartResult<K, F, D> {
  const cmd = parseCommand(args, { usage: spec.usage, options: spec.options ?? {} });
  if (!cmd.ok) return cmd;
  const stray = cmd.parsed.positionals[0];
  if (stray !== undefined) {
    process.stderr.write(`stockify ${spec.component}: unexpected argument '${stray}'\n\n${spec.usage}\n`);
    return { ok: false, exitCode: 2 };
  }
  try {
    const flags = parseFlags(cmd.parsed.values as RawFlags, spec.flags);
    const config = loadConfig([...SHARD_ENV, ...(spec.env ?? [])]);
    const shard = readShardFile(config.INSTRUMENTS_FILE);
    if (spec.shardFileMustMatch) checkShardMatches(shard, config);
    const derived = spec.derive ? spec.derive(shard) : (undefined as D);
    return { ok: true, component: spec.component, config, flags, shard, derived };
  } catch (err) {
    return { ok: false, exitCode: reportConfigError(err) };
  }
}

function parseFlags<F>(raw: RawFlags, schema: z.ZodType<F, RawFlags> | undefined): F {
  if (!schema) return {} as F;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const flag = String(issue?.path[0] ?? '(flags)');
  const value = raw[flag];
  const shown = typeof value === 'string' ? `'${value}' ` : '';
  throw new ConfigError(`--${flag}`, `is invalid: ${shown}${issue?.message ?? 'bad value'}`);
}

function checkShardMatches(shard: ShardFile, config: Config<'SHARD_INDEX' | 'SHARD_COUNT'>): void {
  if (shard.shard === config.SHARD_INDEX && shard.shardCount === config.SHARD_COUNT) return;
  throw new ConfigError(
    'INSTRUMENTS_FILE',
    `is invalid: it is for shard ${shard.shard}/${shard.shardCount}, but SHARD_INDEX/SHARD_COUNT say ${config.SHARD_INDEX}/${config.SHARD_COUNT}`,
  );
}

/** What a component reports about its own work in stockify.v1.Shard status. */
export type ShardActivity = Pick<
  ShardStatus,
  'instruments' | 'ticksPerSecond' | 'lastTickMs' | 'connectionState' | 'lag' | 'errors'
>;

export interface ServeOptions {
  /** /readyz: ready to do its job. /healthz answers while the process runs. */
  ready: Check;
  /** What stockify.v1.Shard GetStatus answers. */
  status: () => ShardStatus;
  /** The component's own gRPC services, served next to Shard. */
  services?: GrpcService[];
  /** How long in-flight gRPC calls may finish on stop. */
  grpcDrainMs?: number;
}

/** A shard process once started: its logger, lifecycle, metrics registry and Kafka client. */
export class ShardProcess {
  readonly component: Component;
  readonly log: Logger;
  readonly lifecycle: Lifecycle;
  readonly registry: Registry;
  readonly kafka: Kafka;
  /** The client id of this shard's Kafka clients: stockify-<component>-<feed>-<shard>. */
  readonly clientId: string;
  private readonly config: Config<ShardEnvName>;
  private readonly shard: ShardFile;
  private signalled: Promise<void> | undefined;

  constructor(start: Pick<ShardStart<never, unknown, unknown>, 'component' | 'config' | 'shard'>) {
    const { component, config } = start;
    const labels = { feed: config.FEED_NAME, namespace: config.FEED_NAMESPACE, shard: config.SHARD_INDEX };
    this.component = component;
    this.config = config;
    this.shard = start.shard;
    this.log = createLogger({ component, level: config.LOG_LEVEL, base: labels });
    this.lifecycle = new Lifecycle(this.log);
    this.registry = createRegistry({ component, ...labels, shard: String(config.SHARD_INDEX) });
    this.clientId = `stockify-${component}-${config.FEED_NAME}-${config.SHARD_INDEX}`;
    this.kafka = createKafka(config.KAFKA_BROKERS, this.clientId, this.log);
  }

  /** Creates or grows the shard's raw and enriched topics and the feed's DLQ. */
  /** `alsoShards`: shards this one publishes for too (a Dhan shard carrying another's instruments). */
  async provisionTopics(alsoShards: readonly number[] = []): Promise<void> {
    const { FEED_NAMESPACE: namespace, FEED_NAME: feed, SHARD_INDEX: index, KAFKA_BROKERS: brokers } = this.config;
    const layout = { namespace, feed, ...this.shard.kafka };
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const specs = [index, ...alsoShards.filter((s) => s !== index)].flatMap((s) => shardTopicSpecs(layout, s));
      const { created } = await ensureTopics(admin, [...new Map(specs.map((t) => [t.topic, t])).values()]);
      if (created.length > 0) this.log.info({ topics: created }, 'created Kafka topics');
    } catch (err) {
      throw new Error(`cannot reach Kafka at ${brokers.join(',')}: ${(err as Error).message}`);
    } finally {
      await admin.disconnect();
    }
  }

  /** Serves /metrics and the health endpoints, and gRPC Shard status plus the given services. */
  async serve(opts: ServeOptions): Promise<{ metricsPort: number; grpcPort: number }> {
    const http = await serveMetrics(this.registry, this.config.METRICS_PORT, { live: () => true, ready: opts.ready });
    this.lifecycle.onStop('metrics server', () => http.close());
    // spec.auth (AUTH_* env): MarketData and Ingest need a bearer token; Shard status stays open.
    const authConfig = authConfigFromEnv();
    const auth = authConfig ? new Authenticator(authConfig) : undefined;
    const own = (opts.services ?? []).map((s) => (auth ? withAuth(s, auth, this.log) : s));
    const grpc = await startGrpcServer({
      port: this.config.GRPC_PORT,
      services: [shardStatusService(opts.status), ...own],
      log: this.log,
      registry: this.registry,
    });
    this.lifecycle.onStop('gRPC server', () => grpc.drain(opts.grpcDrainMs ?? 10_000));
    return { metricsPort: http.port, grpcPort: grpc.port };
  }

  /** The full Shard status: this shard's identity and the component's activity. */
  shardStatus(activity: ShardActivity): ShardStatus {
    const { FEED_NAME: feed, FEED_NAMESPACE: namespace, SHARD_INDEX: shardIndex, SHARD_COUNT: shardCount } = this.config;
    return { feed, namespace, component: this.component, shardIndex, shardCount, ...activity };
  }

  /** Installs the signal handlers (once); resolves when a signal has stopped every registered part. */
  untilStopped(): Promise<void> {
    this.signalled ??= this.lifecycle.handleSignals();
    return this.signalled;
  }

  /** A start-up or run step failed: stop what is running, write one line, return exit code 1. */
  async fail(err: unknown, what = 'failed'): Promise<number> {
    this.log.error({ err }, what);
    await this.lifecycle.stop();
    const reason = err instanceof Error ? err.message : String(err);
    process.stderr.write(`stockify: ${this.component}: ${reason}\n`);
    exitEvenIfHandlesLinger(this.log);
    return 1;
  }
}
