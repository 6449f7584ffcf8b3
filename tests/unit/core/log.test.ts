import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { context, TraceFlags, trace } from '@opentelemetry/api';
import { createLogger, RateLimitedLog } from '../../../services/core/log.ts';
import { startTracing } from '../../../services/core/tracing.ts';

function sink(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('log lines are JSON and carry trace and span ids inside an active span', async () => {
  await startTracing('test', {});
  const out = sink();
  const log = createLogger({ component: 'ingestion', destination: out.stream });
  const span = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED });
  context.with(trace.setSpan(context.active(), span), () => log.info('inside'));
  log.info('outside');
  const [inside, outside] = out.lines();
  assert.equal(inside?.component, 'ingestion');
  assert.equal(inside?.trace_id, 'a'.repeat(32));
  assert.equal(inside?.span_id, 'b'.repeat(16));
  assert.equal(outside?.trace_id, undefined);
});

test('a rate-limited log writes one line per kind per interval', () => {
  const out = sink();
  const limited = new RateLimitedLog(createLogger({ component: 't', destination: out.stream }), 1_000);
  assert.equal(limited.warn('nan-price', {}, 'bad', 0), true);
  assert.equal(limited.warn('nan-price', {}, 'bad', 500), false);
  assert.equal(limited.warn('unknown-id', {}, 'bad', 500), true);
  assert.equal(limited.warn('nan-price', {}, 'bad', 1_500), true);
  const lines = out.lines();
  assert.equal(lines.length, 3);
  assert.equal(lines[2]?.suppressed, 1);
});
