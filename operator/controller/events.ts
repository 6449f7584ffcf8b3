// Events (core/v1) on the MarketFeed for each significant action: kubectl describe shows them.
import type { Logger } from '../../services/core/log.ts';
import { redact } from '../../services/core/redact.ts';
import type { MarketFeed } from '../crd/types.ts';
import type { Clock } from './clock.ts';
import { describeError, type Kube } from './kube.ts';
import type { ProblemReason } from './problems.ts';

export type EventType = 'Normal' | 'Warning';

/** Why an Event was recorded: a closed list, so `kubectl get events --field-selector reason=…` is stable. */
export type EventReason =
  | ProblemReason
  | 'MarketClosed'
  | 'MarketOpened'
  | 'Recovered'
  | 'Resharded'
  | 'Restarted'
  | 'RolloutHeld'
  | 'Restarting'
  | 'RestartInvalid'
  | 'SecretChanged'
  | 'ShardCreated'
  | 'ShardDraining'
  | 'ShardRemoved'
  | 'TopicDeletionFailed'
  | 'TopicsReady';

export interface EventSpec {
  type: EventType;
  reason: EventReason;
  message: string;
}

/** Events queued beyond this (an API server that stopped answering) are dropped, not kept in memory. */
const MAX_PENDING_EVENTS = 1_000;

export class EventRecorder {
  private readonly kube: Kube;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly identity: string;
  private sending: Promise<void> = Promise.resolve();
  private pending = 0;
  constructor(kube: Kube, clock: Clock, log: Logger, identity: string) {
    this.kube = kube;
    this.clock = clock;
    this.log = log;
    this.identity = identity;
  }

  /**
   * Queues the Event and returns at once: a reconcile never waits for one (client-go's recorder is
   * asynchronous too). Sent one after another in the order recorded, with the time of the call.
   */
  record(feed: MarketFeed, type: EventType, reason: EventReason, message: string): Promise<void> {
    const now = new Date(this.clock.now());
    const { name, namespace } = feed.metadata;
    this.log.info({ feed: `${namespace}/${name}`, reason, type }, redact(message));
    if (this.pending >= MAX_PENDING_EVENTS) {
      this.log.warn({ reason }, `more than ${MAX_PENDING_EVENTS} events waiting for the API server; dropped`);
      return Promise.resolve();
    }
    this.pending++;
    this.sending = this.sending.then(() => this.send(feed, type, reason, message, now)).finally(() => this.pending--);
    return Promise.resolve();
  }

  /** Resolves once every Event recorded so far was sent (or failed). */
  flush(): Promise<void> {
    return this.sending;
  }

  private async send(feed: MarketFeed, type: EventType, reason: EventReason, message: string, now: Date): Promise<void> {
    const { name, namespace, uid } = feed.metadata;
    try {
      await this.kube.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: feed.apiVersion, kind: feed.kind, name, namespace, ...(uid ? { uid } : {}) },
          type,
          reason,
          message: redact(message).slice(0, 1024),
          source: { component: 'stockify-operator' },
          reportingComponent: 'stockify.io/operator',
          reportingInstance: this.identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      // An event is best effort: never fail a reconcile over it.
      this.log.warn({ err: describeError(err), reason }, 'could not record event');
    }
  }
}
