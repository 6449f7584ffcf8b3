// The market figures of the live view: the watched index levels and option-chain excerpt, read over
// gRPC MarketData from the first storage process that answers.
import type { Snapshot } from '../core/messages.ts';
import { type ChainExcerpt, chainExcerpt } from './excerpt.ts';
import { MarketDataClient } from './market.ts';
import type { watchedInstruments } from './plan.ts';
import type { IndexLevel } from './view.ts';

/** Strikes shown on each side of the money. */
const CHAIN_STRIKES = 6;

export class MarketWatch {
  indices: IndexLevel[];
  chain: ChainExcerpt | undefined;
  /** Why the last read failed on every endpoint (undefined after a good read). */
  error: string | undefined;
  private readonly watched: ReturnType<typeof watchedInstruments>;
  private readonly clients: MarketDataClient[];

  constructor(endpoints: readonly string[], watched: ReturnType<typeof watchedInstruments>) {
    this.watched = watched;
    this.indices = watched.levels.map((l) => ({ ...l }));
    this.clients = endpoints.map((e) => new MarketDataClient(e));
  }

  async refresh(): Promise<void> {
    const errors: string[] = [];
    for (const client of this.clients) {
      try {
        await this.readFrom(client);
        this.error = undefined;
        return;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    // gRPC details run on ("No connection established. Last error: …"): the first sentence says it.
    this.error = errors[0]?.split('. ')[0];
  }

  private async readFrom(client: MarketDataClient): Promise<void> {
    const snapshots = await client.latest(this.watched.levels.map((l) => l.instrumentId));
    const byId = new Map<string, Snapshot>(snapshots.map((s) => [s.instrumentId, s]));
    this.indices = this.watched.levels.map((l) => {
      const snap = byId.get(l.instrumentId);
      const tick = snap?.payload === 'tick' ? snap.tick : undefined;
      return tick
        ? { ...l, price: tick.lastPrice, previousClose: tick.close, timeMs: tick.exchangeTimeMs }
        : { ...l, ...(snap?.payload === 'optionQuote' ? { price: snap.optionQuote.price, timeMs: snap.timeMs } : {}) };
    });
    if (!this.watched.chain) return;
    try {
      this.chain = chainExcerpt(await client.optionChain(this.watched.chain.instrumentId), CHAIN_STRIKES);
    } catch (err) {
      // No snapshot stored yet is normal in the first seconds; keep the last one shown.
      if (!/NOT_FOUND|not found|no option chain/i.test((err as Error).message)) throw err;
    }
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
