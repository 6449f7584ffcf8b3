// Which Prometheus metrics of each component feed the live view — the one place to update when a
// component renames a metric (services/ingestion/metrics.ts, services/processor/metrics.ts,
// services/storage/metrics.ts). Each field lists candidates; the first one exported wins (errors:
// every one exported is added up).
import type { Component } from '../core/names.ts';

/** A metric name, narrowed to samples carrying `labels` and none of `exclude`. */
export interface MetricRef {
  name: string;
  labels?: Readonly<Record<string, string>>;
  exclude?: Readonly<Record<string, string>>;
}

export interface ComponentMetricNames {
  /** Counter(s) whose rate is the component's throughput. */
  throughput: readonly MetricRef[];
  /** Unit shown after the rate ("rec/s"). */
  throughputUnit: string;
  /** Gauge(s) of consumer lag in messages (consumers only). */
  lag: readonly MetricRef[];
  /** Counter(s) of rows written (storage only). */
  rows: readonly MetricRef[];
  /** Label of the rows counter that names the table, for the per-table totals. */
  rowsTableLabel?: string;
  /** Counters of errors, added up. */
  errors: readonly MetricRef[];
}

export const METRIC_NAMES: Readonly<Record<Component, ComponentMetricNames>> = {
  ingestion: {
    // Acknowledged by Kafka; dead letters are published under source="dlq" and counted as errors.
    throughput: [{ name: 'stockify_ingestion_records_published_total', exclude: { source: 'dlq' } }],
    throughputUnit: 'rec/s',
    lag: [],
    rows: [],
    errors: [{ name: 'stockify_ingestion_dlq_total' }, { name: 'stockify_ingestion_producer_errors_total' }],
  },
  processor: {
    throughput: [{ name: 'stockify_processor_records_consumed_total' }],
    throughputUnit: 'rec/s',
    lag: [{ name: 'stockify_processor_consumer_lag' }],
    rows: [],
    errors: [{ name: 'stockify_processor_dlq_total' }],
  },
  storage: {
    throughput: [{ name: 'stockify_storage_rows_offered_total' }],
    throughputUnit: 'rows/s',
    lag: [{ name: 'stockify_storage_consumer_lag' }],
    rows: [{ name: 'stockify_storage_rows_written_total' }],
    rowsTableLabel: 'table',
    errors: [
      { name: 'stockify_storage_db_errors_total' },
      { name: 'stockify_storage_redis_errors_total' },
      { name: 'stockify_storage_bad_records_total' },
    ],
  },
};
