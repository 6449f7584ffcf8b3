// Alerts and the dashboard must query metrics some component really registers: a renamed metric
// would otherwise leave an alert that can never fire and a dashboard panel that stays empty.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chart = join(root, 'charts/stockify-operator');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(root, dir, f), 'utf8'));
}

/** Names passed to prom-client constructors (`name: 'stockify_…'`) anywhere in the components. */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  for (const text of [...sources('services'), ...sources('operator')]) {
    for (const m of text.matchAll(/name:\s*'(stockify_[a-z0-9_]+)'/g)) if (m[1]) names.add(m[1]);
  }
  return names;
}

/** Metric names in PromQL, including the alternatives of a `__name__=~"a|b"` matcher. */
function referencedMetrics(promql: string): Set<string> {
  const names = new Set<string>();
  for (const m of promql.matchAll(/__name__=~\\?"stockify_\(([a-z|_]+)\)_([a-z_]+)\\?"/g)) {
    for (const alt of (m[1] ?? '').split('|')) names.add(`stockify_${alt}_${m[2]}`);
  }
  const plain = promql.replace(/__name__=~\\?"[^"\\]*\\?"/g, '');
  for (const m of plain.matchAll(/\b(stockify_[a-z0-9_]+)/g)) if (m[1]) names.add(m[1]);
  // Histogram series carry suffixes prom-client adds to the registered name.
  return new Set([...names].map((n) => n.replace(/_(bucket|sum|count)$/, '')));
}

const registered = registeredMetrics();

describe('monitoring queries match registered metrics', () => {
  test('the PrometheusRule alerts query only registered metrics', () => {
    const rules = readFileSync(join(chart, 'templates/prometheusrule.yaml'), 'utf8');
    const used = referencedMetrics(rules);
    assert.ok(used.size >= 4, `expected the alerts to use several metrics, found ${[...used].join(', ')}`);
    const missing = [...used].filter((n) => !registered.has(n));
    assert.deepEqual(missing, [], `alerts use metrics no component registers: ${missing.join(', ')}`);
  });

  test('the Grafana dashboard queries only registered metrics', () => {
    const dashboard = JSON.parse(readFileSync(join(chart, 'dashboards/stockify.json'), 'utf8')) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    assert.ok(exprs.length >= 8, 'the dashboard has a query per panel');
    const missing = [...referencedMetrics(exprs.join('\n'))].filter((n) => !registered.has(n));
    assert.deepEqual(missing, [], `dashboard panels use metrics no component registers: ${missing.join(', ')}`);
  });

  test('the promised alerts exist: lag growing, ingestion disconnected, DLQ rate, reconcile errors, gRPC server errors', () => {
    const rules = readFileSync(join(chart, 'templates/prometheusrule.yaml'), 'utf8');
    for (const alert of [
      'StockifyConsumerLagGrowing',
      'StockifyIngestionDisconnected',
      'StockifyDeadLetterRate',
      'StockifyReconcileErrors',
      'StockifyGrpcServerErrors',
    ]) {
      assert.match(rules, new RegExp(`alert: ${alert}\\b`));
    }
  });
});
