// Only the Lease holder reconciles. While leading, informer events and a periodic resync feed a
// fresh work queue that workers drain through the reconciler; on losing the lease the queue shuts
// down and events are ignored until it is won again.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../services/core/log.ts';
import { KIND } from '../crd/schema.ts';
import type { Clock, Timer } from './clock.ts';
import type { Informers } from './informers.ts';
import { describeError } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';
import { runWorkers, WorkQueue } from './queue.ts';
import type { ReconcileResult } from './result.ts';
import { referencedSecretNames } from './secrets.ts';

export interface WorkLoopOptions {
  informers: Informers;
  reconcile: (key: string) => Promise<ReconcileResult>;
  metrics: OperatorMetrics;
  clock: Clock;
  log: Logger;
  concurrency: number;
  resyncMs: number;
}

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** The key of the MarketFeed controlling an owned object, if any. */
function ownerKey(o: KubernetesObject): string | undefined {
  const owner = (o.metadata?.ownerReferences ?? []).find((r) => r.controller && r.kind === KIND);
  return owner ? `${o.metadata?.namespace ?? ''}/${owner.name}` : undefined;
}

export class WorkLoop {
  private readonly o: WorkLoopOptions;
  private leading = false;
  private queue: WorkQueue;
  private workers: Promise<void> | undefined;
  private resync: Timer | undefined;
  private total = 0;

  constructor(opts: WorkLoopOptions) {
    this.o = opts;
    this.queue = new WorkQueue({ clock: opts.clock });
    opts.informers.feeds.on((f) => this.add(keyOf(f)));
    for (const watcher of opts.informers.owned.values()) {
      watcher.on((o) => {
        const key = ownerKey(o);
        if (key) this.add(key);
      });
    }
    // A Secret a feed names appeared, changed or went: reconcile those feeds now (a late database
    // Secret, a rotated Dhan token), not at the next resync.
    opts.informers.secrets?.on((secret) => {
      const namespace = secret.metadata?.namespace ?? '';
      for (const f of opts.informers.feeds.list(namespace)) {
        if (referencedSecretNames((f as { spec?: unknown }).spec).includes(secret.metadata?.name ?? '')) this.add(keyOf(f));
      }
    });
  }

  /** Starts reconciling: a new queue, every feed queued, the resync timer running. */
  start(): void {
    this.leading = true;
    this.queue = new WorkQueue({ clock: this.o.clock });
    this.workers = runWorkers(
      this.queue,
      this.o.concurrency,
      (key) => {
        this.total++;
        return this.o.metrics.observe(() => this.o.reconcile(key));
      },
      (key, err, retryInMs) => {
        this.o.metrics.failed();
        this.o.log.error({ key, err: describeError(err), retryInMs }, 'reconcile failed');
      },
    );
    this.enqueueAll();
    this.scheduleResync();
  }

  /** Stops handing out keys; reconciles in flight finish (see `drained`). */
  stop(): void {
    this.leading = false;
    this.resync?.cancel();
    this.queue.shutDown();
  }

  /** Resolves once the workers of the last start have returned. */
  async drained(): Promise<void> {
    await this.workers;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get reconcileCount(): number {
    return this.total;
  }

  private add(key: string): void {
    if (this.leading) this.queue.add(key);
  }

  private enqueueAll(): void {
    for (const f of this.o.informers.feeds.list()) this.queue.add(keyOf(f));
  }

  private scheduleResync(): void {
    this.resync = this.o.clock.setTimer(() => {
      if (this.leading) this.enqueueAll();
      this.scheduleResync();
    }, this.o.resyncMs);
  }
}
