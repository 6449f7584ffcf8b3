// The flags of `stockify ingestion`, parsed once into typed values (parseArgs, then zod).
import { CompressionTypes } from 'kafkajs';
import { z } from 'zod';

export const INGESTION_OPTIONS = {
  'max-buffered': { type: 'string' },
  'batch-size': { type: 'string' },
  'linger-ms': { type: 'string' },
  compression: { type: 'string' },
  'max-skew-seconds': { type: 'string' },
  'as-fast-as-possible': { type: 'boolean' },
  limit: { type: 'string' },
  'exit-when-done': { type: 'boolean' },
  'scrip-master': { type: 'string' },
} as const;

const count = z.string().regex(/^\d+$/, 'is not a non-negative integer').transform(Number);

export const ingestionFlags = z
  .object({
    'max-buffered': count.default(100_000),
    'batch-size': count.default(1_000),
    'linger-ms': count.default(20),
    compression: z.enum(['none', 'gzip'], { error: '(none | gzip)' }).default('none'),
    'max-skew-seconds': count.default(600),
    'as-fast-as-possible': z.boolean().default(false),
    limit: count.optional(),
    'exit-when-done': z.boolean().default(false),
    'scrip-master': z.string().optional(),
  })
  .transform((f) => ({
    maxBuffered: Math.max(1, f['max-buffered']),
    batchSize: Math.max(1, f['batch-size']),
    lingerMs: f['linger-ms'],
    compression: f.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
    maxSkewMs: f['max-skew-seconds'] * 1000,
    /** Simulator: do not pace by the wall clock. */
    realTime: !f['as-fast-as-possible'],
    limit: f.limit,
    exitWhenDone: f['exit-when-done'],
    scripMaster: f['scrip-master'],
  }));

export type IngestionFlags = z.output<typeof ingestionFlags>;
