// Typed configuration from the environment (DESIGN.md §5). Bad config: one line naming the
// variable and the problem, exit code 2.
import { z } from 'zod';
import { DNS_LABEL, DNS_LABEL_MAX } from './names.ts';
import { registerSecret, registerUrlSecret } from './redact.ts';

/** A PostgreSQL schema name we accept: lowercase, unquoted, at most 63 bytes (NAMEDATALEN − 1). */
export const SQL_SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const url = (schemes: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${schemes.join(' or ')}` },
  );
const name = z.string().regex(DNS_LABEL, 'must be a DNS label (lowercase letters, digits, -)').max(DNS_LABEL_MAX);

/** Every variable a component may read, with its type and default. */
export const envSchema = {
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,:]+:\d+(,[^\s,:]+:\d+)*$/, 'must be host:port[,host:port...]')
    .transform((v) => v.split(',')),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']),
  FEED_NAME: name,
  FEED_NAMESPACE: name.default('default'),
  SHARD_INDEX: z.coerce.number().int().min(0),
  SHARD_COUNT: z.coerce.number().int().min(1).max(1024),
  INSTRUMENTS_FILE: z.string().min(1),
  GRPC_PORT: port(50051),
  METRICS_PORT: port(9464),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https']).optional(),
  DHAN_CLIENT_ID: z.string().min(1),
  DHAN_ACCESS_TOKEN: z.string().min(1),
  DHAN_FEED_URL: url(['ws', 'wss']).default('wss://api-feed.dhan.co'),
  DHAN_API_URL: url(['http', 'https']).default('https://api.dhan.co/v2'),
  /** Dhan's instrument master CSV, for live option contracts (spec.source.dhan.scripMasterUrl). */
  DHAN_SCRIP_MASTER_URL: url(['http', 'https']).optional(),
  /** Storage: the PostgreSQL schema of the tables (a local run keeps its own apart). */
  DB_SCHEMA: z.string().regex(SQL_SCHEMA_NAME, 'must be a lowercase SQL identifier').default('public'),
  /** Test hook: storage dies after writing a batch and before committing its offsets. */
  STORAGE_TEST_CRASH_BEFORE_COMMIT: z
    .string()
    .optional()
    .transform((v) => v === '1'),
} as const;

export type EnvName = keyof typeof envSchema;
type Out<K extends EnvName> = z.output<(typeof envSchema)[K]>;
export type Config<K extends EnvName> = { [P in K]: Out<P> };

const SECRET_VARS: EnvName[] = ['DHAN_ACCESS_TOKEN'];
const URL_VARS: EnvName[] = ['DATABASE_URL', 'REDIS_URL', 'OTEL_EXPORTER_OTLP_ENDPOINT'];

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`config: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * Reads the named variables. Secrets among them are registered for redaction before anything
 * can log them. Throws ConfigError on the first bad or missing variable.
 */
export function loadConfig<K extends EnvName>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Config<K> {
  const out: Record<string, unknown> = {};
  for (const n of names) {
    const raw = env[n] === '' ? undefined : env[n];
    if (SECRET_VARS.includes(n)) registerSecret(raw);
    if (URL_VARS.includes(n)) registerUrlSecret(raw);
    const parsed = envSchema[n].safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const problem = raw === undefined ? 'is required but not set' : `is invalid: ${issue?.message ?? 'bad value'}`;
      throw new ConfigError(n, problem);
    }
    out[n] = parsed.data;
  }
  const shardIndex = out.SHARD_INDEX;
  const shardCount = out.SHARD_COUNT;
  if (typeof shardIndex === 'number' && typeof shardCount === 'number' && shardIndex >= shardCount) {
    throw new ConfigError('SHARD_INDEX', `is invalid: ${shardIndex} must be below SHARD_COUNT (${shardCount})`);
  }
  return out as Config<K>;
}

/** The exit code of a process refused for bad config (DESIGN.md §5). */
export const CONFIG_EXIT_CODE = 2;

/** Reports bad config the one way: one line on stderr; returns the exit code. Rethrows anything else. */
export function reportConfigError(err: unknown): number {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  return CONFIG_EXIT_CODE;
}

/** loadConfig for a process: prints one line and exits 2 on bad config. */
export function loadConfigOrExit<K extends EnvName>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Config<K> {
  try {
    return loadConfig(names, env);
  } catch (err) {
    process.exit(reportConfigError(err));
  }
}
