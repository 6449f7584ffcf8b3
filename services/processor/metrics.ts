// The processor's Prometheus metrics (their names are part of the dashboards: see up/metric-names.ts).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RejectReason } from './records.ts';

// Every reason, so the DLQ series exist at 0 (a compile error when a reason is added here only).
const REJECT_REASONS: Record<RejectReason, true> = {
  undecodable: true,
  'schema-too-new': true,
  'unknown-instrument': true,
  'invalid-price': true,
  'invalid-time': true,
  'invalid-expiry': true,
  'empty-record': true,
};

export interface ProcessorMetrics {
  consumed: Counter;
  produced: Counter<'kind'>;
  dlq: Counter<'reason'>;
  ivFailures: Counter;
  lateTicks: Counter;
  optionTicksWithoutSpot: Counter;
  latency: Histogram;
  lag: Gauge<'partition'>;
}

/** The metrics, the DLQ counter by reason starting at 0 so panels and alerts read 0, not "no data". */
export function processorMetrics(registry: Registry): ProcessorMetrics {
  const metrics = createMetrics(registry);
  for (const reason of Object.keys(REJECT_REASONS)) metrics.dlq.inc({ reason }, 0);
  return metrics;
}

function createMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  return {
    consumed: new Counter({ name: 'stockify_processor_records_consumed_total', help: 'raw records consumed', registers }),
    produced: new Counter({
      name: 'stockify_processor_records_produced_total',
      help: 'enriched records produced, by kind',
      labelNames: ['kind'],
      registers,
    }),
    dlq: new Counter({
      name: 'stockify_processor_dlq_total',
      help: 'records sent to the dead-letter topic, by reason',
      labelNames: ['reason'],
      registers,
    }),
    ivFailures: new Counter({
      name: 'stockify_processor_iv_failures_total',
      help: 'option quotes for which no implied volatility reproduces the price',
      registers,
    }),
    optionTicksWithoutSpot: new Counter({
      name: 'stockify_processor_option_ticks_without_spot_total',
      help: 'option contract ticks stored without a quote: no spot of their underlying seen yet on the partition',
      registers,
    }),
    lateTicks: new Counter({
      name: 'stockify_processor_late_ticks_dropped_total',
      help: 'ticks too late for their bar (past the grace period)',
      registers,
    }),
    latency: new Histogram({
      name: 'stockify_processor_processing_seconds',
      help: 'time to process one raw record (decode to enriched records)',
      buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
      registers,
    }),
    lag: new Gauge({
      name: 'stockify_processor_consumer_lag',
      help: 'records between the last processed offset and the partition end',
      labelNames: ['partition'],
      registers,
    }),
  };
}
