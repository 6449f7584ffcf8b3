import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { context, TraceFlags, trace } from '@opentelemetry/api';
import { extractTraceContext, injectTraceHeaders, type KafkaHeaders, startTracing } from '../../../services/core/tracing.ts';

describe('trace context through Kafka headers', () => {
  test('survives inject → bytes (as Kafka stores them) → extract', async () => {
    await startTracing('test', {});
    const spanContext = {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
    };
    const ctx = trace.setSpanContext(context.active(), spanContext);
    const headers = injectTraceHeaders({}, ctx);
    assert.match(String(headers.traceparent), /^00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01$/);

    // kafkajs hands headers back to consumers as Buffers.
    const received: KafkaHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
    const extracted = trace.getSpanContext(extractTraceContext(received));
    assert.equal(extracted?.traceId, spanContext.traceId);
    assert.equal(extracted?.spanId, spanContext.spanId);
    assert.equal(extracted?.isRemote, true);
  });

  test('no headers give no remote parent', () => {
    assert.equal(trace.getSpanContext(extractTraceContext(undefined)), undefined);
  });
});
