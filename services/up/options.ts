// What `stockify up` is told: its flags and the variables it reads itself, each parsed once into typed
// values. Bad flags print the usage and bad variables one line; both exit 2.
import { z } from 'zod';
import { flags, parseCommand, usageError } from '../core/cli.ts';
import { ConfigError, envSchema } from '../core/config.ts';

export const USAGE = `Usage: stockify up -f <feed.yaml> [--duration <seconds>] [--grpc-port <port>]

Runs a MarketFeed in standalone mode: for every shard the ingestion, processor and storage
processes the operator would deploy (the same args and environment), as local processes against
your own Kafka, PostgreSQL and Redis, with a live view of throughput, lag, rows, index levels and
the option chain. Ctrl-C stops every process cleanly and prints where the data is.

Options:
  -f, --file <path>        the MarketFeed YAML (one MarketFeed)
  --duration <seconds>     stop by itself after this long
  --grpc-port <port>       MarketData gRPC port of storage shard 0, where \`stockify query\` looks
                           (default 50051; 0 = any free port)
  -h, --help               this help

Environment:
  KAFKA_BROKERS, DATABASE_URL, REDIS_URL   the services to run against (they replace the
                                           MarketFeed's endpoints; \`make run\` sets them)
  DB_SCHEMA                                PostgreSQL schema of the tables (default public)
  DHAN_CLIENT_ID, DHAN_ACCESS_TOKEN        for source dhan (from a Secret in a cluster)

Each process gets its own METRICS_PORT and GRPC_PORT; shard files go to .local/up/<feed>/ and logs
to .local/logs/<feed>-<component>-<shard>.log. A process that dies is restarted with back-off, as a
Deployment would. When stdout is not a terminal a status line is printed every few seconds instead
of the full-screen view. Exit: 0 after a clean stop, 2 for a bad file or missing configuration.`;

/** Where \`stockify query\` looks by default. */
export const DEFAULT_GRPC_PORT = 50051;

const OPTIONS = {
  file: { type: 'string', short: 'f' },
  duration: { type: 'string' },
  'grpc-port': { type: 'string' },
} as const;

const FLAGS = z.object({
  duration: flags.seconds().optional(),
  'grpc-port': flags.port().default(DEFAULT_GRPC_PORT),
});

/**
 * The variables `stockify up` reads itself. The service URLs are optional here: the plan names the
 * one a process needs when it is missing. DB_SCHEMA is storage's own entry.
 */
const ENV = z.object({
  KAFKA_BROKERS: envSchema.KAFKA_BROKERS.optional(),
  DATABASE_URL: envSchema.DATABASE_URL.optional(),
  REDIS_URL: envSchema.REDIS_URL.optional(),
  DB_SCHEMA: envSchema.DB_SCHEMA,
});

export type UpEnv = z.output<typeof ENV>;

export interface UpOptions {
  file: string;
  durationS?: number;
  /** 0: any free port. */
  grpcPort: number;
  env: UpEnv;
}

/** Parses the variables of ENV (an empty one counts as unset); throws ConfigError naming the first bad one. */
export function parseUpEnv(raw: Readonly<Record<string, string | undefined>>): UpEnv {
  const present = Object.fromEntries(Object.keys(ENV.shape).map((k) => [k, raw[k] === '' ? undefined : raw[k]]));
  const parsed = ENV.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(String(issue?.path[0] ?? 'environment'), `is invalid: ${issue?.message ?? 'bad value'}`);
}

/** The options of a run, or the exit code after help, a usage error or bad configuration. */
export function parseUpOptions(
  args: string[],
  rawEnv: Readonly<Record<string, string | undefined>>,
): { ok: true; options: UpOptions } | { ok: false; exitCode: number } {
  const cmd = parseCommand(args, { usage: USAGE, options: OPTIONS, schema: FLAGS });
  if (!cmd.ok) return cmd;
  const { flags: values, positionals } = cmd.parsed;
  if (positionals.length > 0) return usageError(USAGE, `stockify up: unexpected argument ${positionals[0]}`);
  if (!values.file) return usageError(USAGE, 'stockify up: -f <feed.yaml> is required');
  let env: UpEnv;
  try {
    env = parseUpEnv(rawEnv);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return { ok: false, exitCode: 2 };
  }
  const durationS = values.duration;
  return {
    ok: true,
    options: { file: values.file, grpcPort: values['grpc-port'], env, ...(durationS === undefined ? {} : { durationS }) },
  };
}
