// Make-before-break between the ingestion pod of a rollout and the one it replaces (pure).
//
// The new pod is Ready (/readyz, the Deployment's readiness probe) only once its source has been
// live at least once: a Dhan connection open, subscribed and delivering data (or quiet for
// QUIET_GRACE_MS: a market with nothing to hand over must not stall a rollout), or a simulator or
// replay running. The Deployment (RollingUpdate, maxSurge 1, maxUnavailable 0) retires the old pod
// only after that, and the old pod keeps streaming for HANDOVER_OVERLAP_MS after SIGTERM before it
// closes its source and flushes what it accepted. Both pods publish the packets of the overlap;
// storage keeps one row each because a Dhan tick's key is derived from the packet's content
// (dhan/state.ts), identical in both pods.
import type { ConnectionState, SourceName } from './source.ts';

/** How long a pod told to stop keeps its live source open, so that its successor overlaps it. */
export const HANDOVER_OVERLAP_MS = 3_000;

/** Sources that stream from outside and so need an overlap; the others start where they left off or are pushed to. */
export const overlapMsFor = (source: SourceName): number => (source === 'dhan' ? HANDOVER_OVERLAP_MS : 0);

/** A live source that has delivered nothing yet is taken as Ready after this long. */
export const QUIET_GRACE_MS = 10_000;

const LIVE: ReadonlySet<ConnectionState> = new Set(['CONNECTED', 'RUNNING', 'FINISHED']);
const BROKEN: ReadonlySet<ConnectionState> = new Set(['EXPIRED_TOKEN', 'FAILED']);

/**
 * Readiness latched on the first time the source was live: a reconnect later does not take the pod
 * out of service (nothing would serve in its place), an expired token or a failed source does.
 */
export class Readiness {
  private wasLive: boolean;
  private liveSince: number | undefined;
  private readonly now: () => number;

  /** nothingToSubscribe: a shard that owns no instruments has no source to wait for. */
  constructor(nothingToSubscribe = false, now: () => number = Date.now) {
    this.wasLive = nothingToSubscribe;
    this.now = now;
  }

  /**
   * sawData: the source has delivered something. "Subscribe sent" alone does not prove the
   * exchange streams to the new connection yet; the first packet does.
   */
  ready(state: ConnectionState, publisherHealthy: boolean, sawData: boolean): boolean {
    if (LIVE.has(state)) {
      this.liveSince ??= this.now();
      if (sawData || this.now() - this.liveSince >= QUIET_GRACE_MS) this.wasLive = true;
    }
    return this.wasLive && publisherHealthy && !BROKEN.has(state);
  }
}
