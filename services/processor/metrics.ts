// The processor's Prometheus metrics (their names are part of the dashboards: see up/metric-names.ts).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  consumed: Counter;
  produced: Counter<'kind'>;
  dlq: Counter<'reason'>;
  ivFailures: Counter;
  lateTicks: Counter;
  latency: Histogram;
  lag: Gauge<'partition'>;
}

export function processorMetrics(registry: Registry): ProcessorMetrics {
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
