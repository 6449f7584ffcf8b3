// Labelled counters exist at 0 from the start, so a dashboard panel or an alert reads 0, not "no data".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { RequestCounter } from '../../../operator/controller/kube.ts';
import { OperatorMetrics } from '../../../operator/controller/metrics.ts';
import { createIngestionMetrics } from '../../../services/ingestion/metrics.ts';
import { processorMetrics } from '../../../services/processor/metrics.ts';
import { storageMetrics } from '../../../services/storage/metrics.ts';

/** `name{labels} value` lines of the exposition, for one metric. */
async function series(registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

test('ingestion: DLQ, received, published, reconnects and pauses of its source read 0 before any input', async () => {
  const registry = new Registry();
  createIngestionMetrics(registry, ['simulator']);
  const dlq = await series(registry, 'stockify_ingestion_dlq_total');
  assert.equal(dlq.length, 6);
  assert.ok(dlq.every((l) => l.includes('source="simulator"') && l.endsWith(' 0')));
  assert.ok(dlq.some((l) => l.includes('reason="bad-price"')));
  for (const name of ['received', 'published']) {
    assert.match((await series(registry, `stockify_ingestion_records_${name}_total`)).join('\n'), /source="simulator"} 0/);
  }
  assert.match((await series(registry, 'stockify_ingestion_records_published_total')).join('\n'), /source="dlq"} 0/);
});

test('processor: one DLQ series per reject reason, all 0', async () => {
  const registry = new Registry();
  processorMetrics(registry);
  const dlq = await series(registry, 'stockify_processor_dlq_total');
  assert.equal(dlq.length, 7);
  assert.ok(dlq.every((l) => l.endsWith(' 0')));
  assert.ok(dlq.some((l) => l.includes('reason="undecodable"')));
});

test('storage: database and Redis errors by operation, all 0', async () => {
  const registry = new Registry();
  storageMetrics(registry);
  const db = await series(registry, 'stockify_storage_db_errors_total');
  assert.ok(db.some((l) => l.includes('operation="write_batch"')));
  assert.ok(db.some((l) => l.includes('operation="GetOptionChain"')));
  assert.ok(db.every((l) => l.endsWith(' 0')));
  const redis = await series(registry, 'stockify_storage_redis_errors_total');
  assert.ok(redis.some((l) => l.includes('operation="set_latest"')));
});

test('operator: reconciles by every result read 0 on an idle operator', async () => {
  const metrics = new OperatorMetrics({ queueDepth: () => 0, isLeader: () => false, requests: new RequestCounter() });
  const lines = await series(metrics.registry, 'stockify_operator_reconciles_total');
  assert.deepEqual(lines.map((l) => /result="(\w+)"/.exec(l)?.[1]).sort(), ['done', 'error', 'requeue', 'retry']);
  assert.ok(lines.every((l) => l.endsWith(' 0')));
});
