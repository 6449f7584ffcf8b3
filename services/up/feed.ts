// The MarketFeed file `stockify up -f` runs: exactly one MarketFeed, validated and defaulted by the
// operator's own schema, so a feed that runs here is one the operator would accept.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { MarketFeed } from '../../operator/crd/types.ts';
import { parseMarketFeed } from '../../operator/crd/validate.ts';
import { checkDhanBudget } from '../../operator/desired/index.ts';
import { checkSchedule, ScheduleError } from '../../operator/schedule.ts';

export class FeedError extends Error {}

/** Parses a YAML text holding one MarketFeed; throws FeedError naming the problem. */
export function loadFeed(text: string): MarketFeed {
  const docs = parseAllDocuments(text).filter((d) => d.errors.length > 0 || (d.toJS() ?? null) !== null);
  if (docs.length === 0) throw new FeedError('no MarketFeed found (the file is empty)');
  const feeds: MarketFeed[] = [];
  for (const [i, doc] of docs.entries()) {
    const where = docs.length > 1 ? `document ${i + 1}: ` : '';
    const error = doc.errors[0];
    if (error) throw new FeedError(`${where}invalid YAML: ${error.message.split('\n')[0]}`);
    try {
      const feed = parseMarketFeed(doc.toJS());
      checkSchedule(feed.spec.schedule);
      checkDhanBudget(feed);
      feeds.push(feed);
    } catch (err) {
      if (err instanceof ScheduleError || (err instanceof Error && err.name === 'SpecError'))
        throw new FeedError(`${where}${err.message}`);
      throw err;
    }
  }
  if (feeds.length > 1) throw new FeedError(`${feeds.length} MarketFeeds in one file; \`stockify up\` runs one (split the file)`);
  const [feed] = feeds;
  if (!feed) throw new FeedError('no MarketFeed found');
  return feed;
}

/** Reads and parses the MarketFeed file; throws FeedError naming the file and the problem. */
export function readFeedFile(file: string): MarketFeed {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new FeedError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return loadFeed(text);
  } catch (err) {
    if (err instanceof FeedError) throw new FeedError(`${file}: ${err.message}`);
    throw err;
  }
}
