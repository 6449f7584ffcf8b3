// Which Prometheus metrics of each component feed the live view. The one place to update when a
// component renames a metric: each field lists candidates, the first one exported wins.
import type { Component } from './plan.ts';

/** A metric name, optionally narrowed to samples carrying these labels. */
export interface MetricRef {
  name: string;
  labels?: Readonly<Record<string, string>>;
}

export interface ComponentMetricNames {
  /** Counter(s) whose rate is the component's throughput. */
  throughput: readonly MetricRef[];
  /** Unit shown after the rate ("ticks/s"). */
  throughputUnit: string;
  /** Gauge(s) of consumer lag in messages (consumers only). */
  lag: readonly MetricRef[];
  /** Counter(s) of rows written (storage only). */
  rows: readonly MetricRef[];
  /** Label of the rows counter that names the table, for the per-table totals. */
  rowsTableLabel?: string;
  /** Counter(s) of errors; all candidates that exist are summed. */
  errors: readonly MetricRef[];
}

export const METRIC_NAMES: Readonly<Record<Component, ComponentMetricNames>> = {
  ingestion: {
    throughput: [{ name: 'stockify_ingestion_ticks_total' }, { name: 'stockify_ingestion_records_total' }],
    throughputUnit: 'ticks/s',
    lag: [],
    rows: [],
    errors: [{ name: 'stockify_ingestion_errors_total' }, { name: 'stockify_ingestion_dlq_total' }],
  },
  processor: {
    throughput: [{ name: 'stockify_processor_records_total' }, { name: 'stockify_processor_records_in_total' }],
    throughputUnit: 'rec/s',
    lag: [{ name: 'stockify_processor_consumer_lag' }, { name: 'stockify_consumer_lag' }],
    rows: [],
    errors: [{ name: 'stockify_processor_errors_total' }, { name: 'stockify_processor_dlq_total' }],
  },
  storage: {
    throughput: [{ name: 'stockify_storage_records_total' }, { name: 'stockify_storage_records_in_total' }],
    throughputUnit: 'rec/s',
    lag: [{ name: 'stockify_storage_consumer_lag' }, { name: 'stockify_consumer_lag' }],
    rows: [{ name: 'stockify_storage_rows_written_total' }, { name: 'stockify_storage_rows_total' }],
    rowsTableLabel: 'table',
    errors: [{ name: 'stockify_storage_errors_total' }, { name: 'stockify_storage_write_errors_total' }],
  },
};
