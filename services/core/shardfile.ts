// The shard file (INSTRUMENTS_FILE): what one shard of a feed handles and how. The operator writes
// it into the ConfigMap <feed>-shard-<i> (key shard.json); `stockify up` writes it under .local/.
// Defaults are the MarketFeed schema's own (specDefault): a hand-written file gets what a spec would.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { specDefault } from '../../operator/crd/schema.ts';
import { ConfigError } from './config.ts';

export const segmentSchema = z.enum([
  'IDX_I',
  'NSE_EQ',
  'NSE_FNO',
  'NSE_CURRENCY',
  'BSE_EQ',
  'MCX_COMM',
  'BSE_CURRENCY',
  'BSE_FNO',
]);

/** spec.storage's history settings: retention per table in days (0 = forever), compression age. */
export const storagePolicySchema = z.object({
  retention: z
    .object({
      ticks: z.number().int().min(0).optional(),
      optionQuotes: z.number().int().min(0).optional(),
      bars1m: z.number().int().min(0).default(specDefault('storage.retention.bars1m')),
      gex: z.number().int().min(0).default(specDefault('storage.retention.gex')),
    })
    .prefault({}),
  compressAfterDays: z.number().int().min(0).default(specDefault('storage.compressAfterDays')),
});
export type StoragePolicy = z.infer<typeof storagePolicySchema>;

/** One instrument as the MarketFeed spec lists it (option contracts are derived from optionChain). */
export const instrumentSpecSchema = z.object({
  symbol: z.string().min(1),
  securityId: z.string().regex(/^\d+$/, 'must be digits'),
  segment: segmentSchema,
  /** index | equity | future; options come from optionChain. */
  kind: z.enum(['index', 'equity', 'future']).default(specDefault('instruments[].kind')),
  tickSize: z.number().positive().default(specDefault('instruments[].tickSize')),
  lotSize: z.number().int().positive().default(specDefault('instruments[].lotSize')),
  optionChain: z
    .object({
      expiries: z.number().int().min(1).max(12).default(specDefault('instruments[].optionChain.expiries')),
      strikes: z.number().int().min(1).max(200).default(specDefault('instruments[].optionChain.strikes')),
      /** Segment of the option contracts (NSE_FNO for NSE underlyings). */
      segment: segmentSchema.default(specDefault('instruments[].optionChain.segment')),
      lotSize: z.number().int().positive().default(specDefault('instruments[].optionChain.lotSize')),
      strikeStep: z.number().positive().optional(),
    })
    .optional(),
  /** Simulator hints; ignored by other sources. */
  simulator: z
    .object({
      price: z.number().positive().optional(),
      volatility: z.number().positive().optional(),
      ticksPerSecond: z.number().positive().optional(),
    })
    .optional(),
});
export type InstrumentSpec = z.infer<typeof instrumentSpecSchema>;

/**
 * What one shard may use of its Dhan account (the operator plans it across every shard of every feed
 * on the credentials Secret): the connections it opens, each with the instruments it subscribes and
 * the shard whose raw topic gets each one's records, and its option-chain request slots.
 */
export const dhanShardBudgetSchema = z.object({
  /** The credentials Secret, `<namespace>/<name>` (the account), for logs. */
  account: z.string().min(1),
  connections: z
    .array(
      z.object({
        /** The account's connection slot. */
        slot: z.number().int().min(0).max(4),
        instruments: z
          .array(
            z.object({
              id: z.string().regex(/^[A-Z_]+:\d+$/, 'must be <segment>:<securityId>'),
              home: z.number().int().min(0),
              /** Live option contracts of this underlying that may share the connection. */
              optionContracts: z.number().int().min(0).default(0),
            }),
          )
          .max(5_000),
      }),
    )
    .max(4),
  /** Specs of the instruments of other shards this shard subscribes for them. */
  carried: z.array(instrumentSpecSchema).default([]),
  /** Epoch-aligned option-chain slots: slot n = floor(t / slotMs) is this shard's when n mod cycle is listed. */
  chain: z
    .object({
      slotMs: z.number().int().min(3_000),
      cycle: z.number().int().min(1),
      slots: z.array(z.number().int().min(0)).min(1),
      sendWindowMs: z.number().int().min(0),
    })
    .optional(),
});
export type DhanShardBudget = z.infer<typeof dhanShardBudgetSchema>;

export const sourceSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('simulator'),
    seed: z.number().int().default(specDefault('source.simulator.seed')),
    /** Total ticks per second across the shard's instruments. */
    ticksPerSecond: z.number().positive().default(specDefault('source.simulator.ticksPerSecond')),
    /** Option-chain snapshots per second per underlying and expiry. */
    chainSnapshotsPerSecond: z.number().positive().default(specDefault('source.simulator.chainSnapshotsPerSecond')),
    /** Simulated session start (ISO); default: now. */
    startTime: z.string().optional(),
  }),
  z.object({
    type: z.literal('replay'),
    path: z.string().min(1),
    format: z.enum(['jsonl', 'csv']).optional(),
    /** 1 = recorded speed, N = N× faster, 0 = as fast as possible. */
    speed: z.number().min(0).default(specDefault('source.replay.speed')),
  }),
  z.object({
    type: z.literal('dhan'),
    mode: z.enum(['ticker', 'quote', 'full']).default(specDefault('source.dhan.mode')),
    optionChainPollSeconds: z.number().min(3).default(specDefault('source.dhan.optionChainPollSeconds')),
    /** This shard's share of the account's budget (operator/desired/dhan-budget.ts); absent: the shard is alone on it. */
    budget: dhanShardBudgetSchema.optional(),
  }),
]);
export type SourceSpec = z.infer<typeof sourceSchema>;

export const shardFileSchema = z.object({
  feed: z.string().min(1),
  namespace: z.string().min(1),
  shard: z.number().int().min(0),
  shardCount: z.number().int().min(1),
  source: sourceSchema,
  kafka: z.object({
    partitionsPerShard: z.number().int().min(1).default(specDefault('kafka.partitionsPerShard')),
    replicationFactor: z.number().int().min(1).default(specDefault('kafka.replicationFactor')),
  }),
  pricing: z
    .object({
      riskFreeRate: z.number().default(specDefault('pricing.riskFreeRate')),
      dividendYield: z.number().default(specDefault('pricing.dividendYield')),
    })
    .prefault({}),
  /** Storage retention of raw ticks and quotes, in days (0 = keep forever). */
  retentionDays: z.number().int().min(0).default(specDefault('retentionDays')),
  /** History policies (absent: the schema's defaults); ticks and option quotes fall back to retentionDays. */
  storage: storagePolicySchema.optional(),
  /** Live state in Redis: expiry of latest:<instrument> keys (0 = never; absent: the schema's default). */
  redis: z.object({ latestTtlSeconds: z.number().int().min(0).default(specDefault('redis.latestTtlSeconds')) }).optional(),
  instruments: z.array(instrumentSpecSchema),
});
export type ShardFile = z.infer<typeof shardFileSchema>;

/** A shard file whose content breaks the schema (for a file named by INSTRUMENTS_FILE see readShardFile). */
export class ShardFileError extends Error {}

type Checked = { ok: true; file: ShardFile } | { ok: false; problem: string };

function check(json: unknown): Checked {
  const parsed = shardFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}` };
  }
  if (parsed.data.shard >= parsed.data.shardCount) {
    return { ok: false, problem: `shard ${parsed.data.shard} must be below shardCount ${parsed.data.shardCount}` };
  }
  return { ok: true, file: parsed.data };
}

export function parseShardFile(json: unknown, origin = 'shard file'): ShardFile {
  const checked = check(json);
  if (!checked.ok) throw new ShardFileError(`${origin}: ${checked.problem}`);
  return checked.file;
}

/**
 * Reads the shard file INSTRUMENTS_FILE names. Whatever is wrong with it (unreadable, not JSON,
 * against the schema) is one ConfigError: `config: INSTRUMENTS_FILE is invalid: <path>: <problem>`.
 */
export function readShardFile(path: string): ShardFile {
  const invalid = (problem: string): ConfigError => new ConfigError('INSTRUMENTS_FILE', `is invalid: ${path}: ${problem}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid(`cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(`is not JSON (${(err as Error).message})`);
  }
  const checked = check(json);
  if (!checked.ok) throw invalid(checked.problem);
  return checked.file;
}
