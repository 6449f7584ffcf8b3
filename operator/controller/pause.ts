// Pausing a feed: spec.paused, or the annotation stockify.io/paused-reconcile: "true" (KEDA's
// autoscaling.keda.sh/paused style), which pauses without a spec change (no new generation, and
// possible where the spec is owned by GitOps). A paused feed's owned objects stay as they are.
import type { MarketFeed } from '../crd/types.ts';

export const ANNOTATION_PAUSED = 'stockify.io/paused-reconcile';

/** Why the feed is paused (for the Progressing condition), or undefined when it is not. */
export function pausedBy(feed: Pick<MarketFeed, 'metadata' | 'spec'>): string | undefined {
  if (feed.spec.paused) return 'spec.paused is true';
  if (feed.metadata.annotations?.[ANNOTATION_PAUSED] === 'true') return `annotation ${ANNOTATION_PAUSED} is "true"`;
  return undefined;
}
