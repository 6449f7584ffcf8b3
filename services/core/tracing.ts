// OpenTelemetry: started before anything else; exports over OTLP only when an endpoint is set.
// W3C trace context rides in Kafka message headers across every hop. The SDK (about 0.5 s of module
// loading) is imported only when an exporter is configured, so commands without one start fast.
import { type Context, context, propagation, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import { loadConfigOrExit } from './config.ts';

let sdk: NodeSDK | undefined;

/**
 * Starts tracing for a service. Without OTEL_EXPORTER_OTLP_ENDPOINT only propagation is set up; a
 * bad one is bad config (one line, exit 2).
 */
export async function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (sdk) return;
  const { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } = loadConfigOrExit(['OTEL_EXPORTER_OTLP_ENDPOINT'], env);
  if (!endpoint) {
    // No exporter: keep context propagation (logs carry ids; Kafka headers carry context).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return;
  }
  // The SDK itself reads the OTEL_* variables (the endpoint checked above) and builds its exporter.
  const { NodeSDK: Sdk } = await import('@opentelemetry/sdk-node');
  sdk = new Sdk({ serviceName });
  sdk.start();
}

export async function stopTracing(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}

/** Kafka headers as kafkajs gives and takes them. */
export type KafkaHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

const setter: TextMapSetter<KafkaHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

const getter: TextMapGetter<KafkaHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const v = carrier[key];
    if (v === undefined) return undefined;
    const first = Array.isArray(v) ? v[0] : v;
    return first === undefined ? undefined : first.toString();
  },
};

/** Writes the trace context of `ctx` (default: the active one) into Kafka headers. */
export function injectTraceHeaders(headers: KafkaHeaders = {}, ctx: Context = context.active()): KafkaHeaders {
  propagation.inject(ctx, headers, setter);
  return headers;
}

/** Reads the trace context carried by Kafka headers, as a parent for the consumer's span. */
export function extractTraceContext(headers: KafkaHeaders | undefined, parent: Context = context.active()): Context {
  return propagation.extract(parent, headers ?? {}, getter);
}
