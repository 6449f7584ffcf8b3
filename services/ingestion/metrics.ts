// The ingestion metrics (Prometheus), in one place so every source reports the same way.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RejectReason, SourceName } from './source.ts';

// Every reason, so the DLQ series of a source exist at 0 (a compile error when a reason is added here only).
const REJECT_REASONS: Record<RejectReason, true> = {
  malformed: true,
  'bad-price': true,
  'unknown-instrument': true,
  'not-in-shard': true,
  'time-skew': true,
  'bad-time': true,
};

export interface IngestionMetrics {
  received: Counter<'source'>;
  published: Counter<'source'>;
  rejected: Counter<'source' | 'reason'>;
  skipped: Counter<'source' | 'reason'>;
  publishLatency: Histogram;
  reconnects: Counter<'source'>;
  producerErrors: Counter;
  bufferDepth: Gauge;
  paused: Counter<'source'>;
  connectionState: Gauge<'state'>;
  optionContracts: Gauge;
  optionRecentres: Counter;
}

/** The metrics; the labelled counters of `sources` start at 0 so panels and alerts read 0, not "no data". */
export function createIngestionMetrics(registry: Registry, sources: readonly SourceName[] = []): IngestionMetrics {
  const metrics = ingestionMetrics(registry);
  for (const source of sources) {
    for (const c of [metrics.received, metrics.published, metrics.reconnects, metrics.paused]) c.inc({ source }, 0);
    for (const reason of Object.keys(REJECT_REASONS)) metrics.rejected.inc({ source, reason }, 0);
  }
  if (sources.length > 0) metrics.published.inc({ source: 'dlq' }, 0);
  return metrics;
}

function ingestionMetrics(registry: Registry): IngestionMetrics {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'stockify_ingestion_records_received_total',
      help: 'Records a source produced (ticks, chain snapshots, status), before validation',
      labelNames: ['source'],
      registers,
    }),
    published: new Counter({
      name: 'stockify_ingestion_records_published_total',
      help: 'Messages acknowledged by Kafka, by source (dlq for dead letters)',
      labelNames: ['source'],
      registers,
    }),
    rejected: new Counter({
      name: 'stockify_ingestion_dlq_total',
      help: 'Bad input written to the dead-letter topic, by reason',
      labelNames: ['source', 'reason'],
      registers,
    }),
    skipped: new Counter({
      name: 'stockify_ingestion_skipped_total',
      help: "Input deliberately not published (e.g. another shard's instrument in a shared recording)",
      labelNames: ['source', 'reason'],
      registers,
    }),
    publishLatency: new Histogram({
      name: 'stockify_ingestion_publish_latency_seconds',
      help: 'Time from a record entering the buffer to its acknowledgement by Kafka',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    optionContracts: new Gauge({
      name: 'stockify_ingestion_option_contracts',
      help: 'Option contracts subscribed live: the strike windows around the money (Dhan with a scrip master)',
      registers,
    }),
    optionRecentres: new Counter({
      name: 'stockify_ingestion_option_window_moves_total',
      help: 'Strike windows placed (first spot) or re-centred (the spot moved beyond the hysteresis band), per underlying',
      registers,
    }),
    reconnects: new Counter({
      name: 'stockify_ingestion_reconnects_total',
      help: 'Reconnections of a live source',
      labelNames: ['source'],
      registers,
    }),
    producerErrors: new Counter({
      name: 'stockify_ingestion_producer_errors_total',
      help: 'Failed Kafka batch sends (each is retried)',
      registers,
    }),
    bufferDepth: new Gauge({
      name: 'stockify_ingestion_buffer_depth',
      help: 'Messages waiting in the publisher buffer',
      registers,
    }),
    paused: new Counter({
      name: 'stockify_ingestion_backpressure_pauses_total',
      help: 'Times a source was paused because the publisher buffer was full',
      labelNames: ['source'],
      registers,
    }),
    connectionState: new Gauge({
      name: 'stockify_ingestion_connection_state',
      help: 'Source connection state (1 for the current state)',
      labelNames: ['state'],
      registers,
    }),
  };
}
