// The flags of `stockify processor`, parsed once into bar options (parseArgs, then zod).
import { z } from 'zod';
import type { BarOptions } from './bars.ts';

export const PROCESSOR_OPTIONS = {
  'bar-grace-ms': { type: 'string' },
  'bar-partial-ms': { type: 'string' },
} as const;

const millis = z.coerce
  .number<string>({ error: 'is not a whole number of milliseconds ≥ 0' })
  .int('is not a whole number of milliseconds ≥ 0')
  .min(0, 'is not a whole number of milliseconds ≥ 0');

export const processorFlags = z
  .object({ 'bar-grace-ms': millis.optional(), 'bar-partial-ms': millis.optional() })
  .transform((f): Partial<BarOptions> => {
    const bars: Partial<BarOptions> = {};
    if (f['bar-grace-ms'] !== undefined) bars.graceMs = f['bar-grace-ms'];
    if (f['bar-partial-ms'] !== undefined) bars.partialIntervalMs = f['bar-partial-ms'];
    return bars;
  });
