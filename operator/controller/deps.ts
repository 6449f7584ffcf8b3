// What the reconcile steps share: the API, the informer caches, Kafka, Events, the clock.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../services/core/log.ts';
import type { Clock } from './clock.ts';
import type { EventRecorder } from './events.ts';
import type { Watcher } from './informers.ts';
import type { Kube } from './kube.ts';
import type { TopicManager } from './topics.ts';

export interface ReconcilerDeps {
  kube: Kube;
  feeds: Watcher<KubernetesObject>;
  /** Informers of the owned kinds, by kind. */
  owned: Map<string, Watcher>;
  topics: TopicManager;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Default image when spec.image is unset. */
  image: string;
  /** How often a draining shard's lag is checked. */
  drainCheckMs?: number;
  /** How often a feed that scales on lag is measured again (default 15 s). */
  lagCheckMs?: number;
}
