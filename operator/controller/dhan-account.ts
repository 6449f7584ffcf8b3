// The MarketFeeds a feed may share a Dhan account with, from the informer cache: every other feed
// of its namespace (a credentials Secret is namespaced), parsed and defaulted. A paused feed still
// counts (its pods keep their connections); one being deleted or with an invalid spec does not.
import { parseSpec, SpecError } from '../crd/validate.ts';
import type { AccountFeed } from '../desired/index.ts';

/** The MarketFeed informer as far as this reads it. */
export interface FeedLister {
  list(namespace?: string): readonly {
    metadata?: { name?: string; deletionTimestamp?: unknown; creationTimestamp?: string | Date };
    spec?: unknown;
  }[];
}

/** How soon a feed refused for its Dhan account is looked at again (another feed may have made room). */
export const DHAN_BUDGET_RECHECK_MS = 60_000;

export function dhanPeers(feeds: FeedLister, feed: AccountFeed): AccountFeed[] {
  const out: AccountFeed[] = [];
  for (const raw of feeds.list(feed.metadata.namespace)) {
    const meta = raw.metadata;
    if (!meta?.name || meta.name === feed.metadata.name || meta.deletionTimestamp) continue;
    try {
      const spec = parseSpec(raw.spec);
      out.push({
        metadata: {
          name: meta.name,
          namespace: feed.metadata.namespace,
          ...(meta.creationTimestamp ? { creationTimestamp: meta.creationTimestamp } : {}),
        },
        spec,
      });
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
    }
  }
  return out;
}
