// Storage metrics: rows written per table, batch size and latency, consumer lag, errors, streams.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface StorageMetrics {
  rowsWritten: Counter<'table'>;
  rowsOffered: Counter<'table'>;
  batchRows: Histogram;
  batchSeconds: Histogram;
  consumerLag: Gauge<'partition'>;
  dbErrors: Counter<'operation'>;
  redisErrors: Counter<'operation'>;
  liveUpdates: Counter;
  streamSubscribers: Gauge;
  badRecords: Counter;
}

// The operations errors are counted by, created at 0 so panels and alerts read 0, not "no data".
const DB_OPERATIONS = [
  'write_batch',
  'partition_maintenance',
  'GetLatest',
  'GetTicks',
  'GetRecentTicks',
  'GetBars',
  'GetOptionChain',
  'GetGaps',
];
const REDIS_OPERATIONS = ['set_latest', 'get_latest', 'stream', 'connection_live', 'connection_subscriber'];

export function storageMetrics(registry: Registry): StorageMetrics {
  const metrics = createMetrics(registry);
  for (const operation of DB_OPERATIONS) metrics.dbErrors.inc({ operation }, 0);
  for (const operation of REDIS_OPERATIONS) metrics.redisErrors.inc({ operation }, 0);
  return metrics;
}

function createMetrics(registry: Registry): StorageMetrics {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'stockify_storage_rows_written_total',
      help: 'Rows inserted (bars: inserted or merged) per table',
      labelNames: ['table'],
      registers,
    }),
    rowsOffered: new Counter({
      name: 'stockify_storage_rows_offered_total',
      help: 'Rows offered to the database per table, duplicates included',
      labelNames: ['table'],
      registers,
    }),
    batchRows: new Histogram({
      name: 'stockify_storage_batch_rows',
      help: 'Rows per database transaction',
      buckets: [1, 10, 50, 100, 500, 1000, 2500, 5000],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'stockify_storage_batch_seconds',
      help: 'Time to write and commit one batch',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'stockify_storage_consumer_lag',
      help: 'Messages behind the high watermark per partition of the enriched topic',
      labelNames: ['partition'],
      registers,
    }),
    dbErrors: new Counter({
      name: 'stockify_storage_db_errors_total',
      help: 'PostgreSQL errors by operation',
      labelNames: ['operation'],
      registers,
    }),
    redisErrors: new Counter({
      name: 'stockify_storage_redis_errors_total',
      help: 'Redis errors by operation (live fan-out degraded, history unaffected)',
      labelNames: ['operation'],
      registers,
    }),
    liveUpdates: new Counter({
      name: 'stockify_storage_live_updates_total',
      help: 'Snapshots stored in latest:<id> and published on live:<id>',
      registers,
    }),
    streamSubscribers: new Gauge({ name: 'stockify_storage_stream_subscribers', help: 'Open StreamQuotes calls', registers }),
    badRecords: new Counter({
      name: 'stockify_storage_bad_records_total',
      help: 'Records that could not be decoded or stored, sent to the dead-letter topic',
      registers,
    }),
  };
}
