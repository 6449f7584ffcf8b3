// JSON logs (pino) with the active trace and span ids, secrets redacted.
import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, pino } from 'pino';
import { redact, redactDeep } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  component: string;
  /** A process passes its LOG_LEVEL (config.ts); default info. */
  level?: string;
  /** Where lines go; stdout by default. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { component: opts.component, ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        if (!span) return {};
        const ctx = span.spanContext();
        return { trace_id: ctx.traceId, span_id: ctx.spanId };
      },
      hooks: {
        // Every argument is redacted: messages, merged objects and errors alike.
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? redact(a) : redactDeep(a)));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (e: unknown) => pino.stdSerializers.err(redactDeep(e) as Error),
      },
    },
    opts.destination,
  );
}

/**
 * Logs a message at most once per interval for each kind (e.g. one line per kind of bad input),
 * counting what it suppressed.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  private readonly log: Logger;
  private readonly intervalMs: number;
  constructor(log: Logger, intervalMs = 60_000) {
    this.log = log;
    this.intervalMs = intervalMs;
  }

  warn(kind: string, fields: Record<string, unknown>, msg: string, now = Date.now()): boolean {
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed += 1;
      return false;
    }
    this.log.warn({ kind, suppressed: seen?.suppressed ?? 0, ...fields }, msg);
    this.last.set(kind, { at: now, suppressed: 0 });
    return true;
  }
}
