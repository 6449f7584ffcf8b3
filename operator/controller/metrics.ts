// The operator's Prometheus metrics: reconciles by result, their duration, the queue, leadership,
// and API requests by verb (the "zero writes in steady state" promise, observable in production).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '../../services/core/metrics.ts';
import type { RequestCounter } from './kube.ts';
import type { ReconcileResult } from './result.ts';

/** What the gauges read when scraped. */
export interface MetricSources {
  queueDepth(): number;
  isLeader(): boolean;
  requests: RequestCounter;
}

export const RECONCILE_OUTCOMES = ['done', 'requeue', 'retry', 'error'] as const;
export type ReconcileOutcome = (typeof RECONCILE_OUTCOMES)[number];

export const outcomeOf = (r: ReconcileResult): ReconcileOutcome => {
  if (r.retry) return 'retry';
  return r.requeueAfterMs ? 'requeue' : 'done';
};

export class OperatorMetrics {
  readonly registry: Registry = createRegistry({ component: 'operator' });
  private readonly reconciles: Counter<'result'>;
  private readonly errors: Counter;
  private readonly duration: Histogram;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    this.reconciles = new Counter({
      name: 'stockify_operator_reconciles_total',
      help: 'Reconciles by result',
      labelNames: ['result'],
      registers,
    });
    // Every outcome at 0 from the start, so rates read 0 rather than "no data" on an idle operator.
    for (const result of RECONCILE_OUTCOMES) this.reconciles.inc({ result }, 0);
    this.errors = new Counter({ name: 'stockify_operator_reconcile_errors_total', help: 'Reconciles that failed', registers });
    this.duration = new Histogram({
      name: 'stockify_operator_reconcile_duration_seconds',
      help: 'Time per reconcile',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const gauge = (name: string, help: string, read: () => number): Gauge =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('stockify_operator_queue_depth', 'Keys waiting in the work queue', sources.queueDepth);
    gauge('stockify_operator_leader', '1 when this instance holds the lease', () => (sources.isLeader() ? 1 : 0));
    new Counter({
      name: 'stockify_operator_api_requests_total',
      help: 'Kubernetes API requests by method',
      labelNames: ['method'],
      registers,
      collect() {
        this.reset();
        for (const [m, n] of sources.requests.byMethod) this.inc({ method: m }, n);
      },
    });
  }

  /** Times one reconcile and counts its outcome. */
  async observe(reconcile: () => Promise<ReconcileResult>): Promise<ReconcileResult> {
    const end = this.duration.startTimer();
    try {
      const result = await reconcile();
      this.reconciles.inc({ result: outcomeOf(result) });
      return result;
    } finally {
      end();
    }
  }

  failed(): void {
    this.errors.inc();
    this.reconciles.inc({ result: 'error' });
  }
}
