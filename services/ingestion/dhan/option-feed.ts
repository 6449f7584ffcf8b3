// Live option contracts on the Dhan feed: each underlying with optionChain has its strike windows
// (strike-window.ts) on the connection that carries the underlying, within the room that
// connection's budget leaves. The underlying's own ticks move its windows; the diff is sent as
// unsubscribe then subscribe requests while the connection is open, and a (re)opened connection
// subscribes the current set. Option ticks are keyed by their underlying, so they reach the
// processor partition that holds its spot.
import type { Logger } from '../../core/log.ts';
import { instrumentId, type Segment } from '../../core/messages.ts';
import type { IngestionMetrics } from '../metrics.ts';
import { type FeedMode, subscribeMessages, unsubscribeMessages } from './feed-requests.ts';
import type { ChainUnderlying } from './optionchain.ts';
import type { ScripMaster } from './scrip-master.ts';
import type { OptionDescription } from './state.ts';
import { buildLadders, type Ladder, type OptionContract, StrikeWindows, type WindowDiff } from './strike-window.ts';

/** An underlying whose option contracts are streamed live: the same description the REST chain uses. */
export type LiveChain = ChainUnderlying;

/** One connection's option contracts: the windows of the underlyings it carries, and its room. */
export interface OptionLane {
  connection: number;
  ladders: Ladder[];
  capacity: number;
}

/** Today's date in IST (YYYY-MM-DD): an expiry day's contracts trade until 15:30 IST. */
export function istToday(nowMs: number): string {
  return new Date(nowMs + 19_800_000).toISOString().slice(0, 10);
}

/**
 * The lanes of a source whose connections carry `groups` of instruments (index = connection):
 * each underlying's windows ride its own connection, the room being `perConnection` less the
 * instruments already there, or less still when the account's budget planned fewer option
 * contracts for the connection (`planned[connection]`, e.g. the sum of its instruments'
 * optionContracts in the shard file).
 */
export function optionLanes(
  groups: readonly (readonly { segment: Segment; securityId: string }[])[],
  chains: readonly LiveChain[],
  master: ScripMaster,
  today: string,
  perConnection: number,
  planned?: readonly number[],
): OptionLane[] {
  return groups.flatMap((group, connection) => {
    const ids = new Set(group.map((i) => instrumentId(i.segment, i.securityId)));
    const ladders = chains
      .filter((c) => ids.has(instrumentId(c.segment, c.securityId)))
      .flatMap((c) =>
        buildLadders(
          master,
          {
            underlyingId: instrumentId(c.segment, c.securityId),
            underlyingSymbol: c.symbol,
            optionSegment: c.optionSegment,
            expiries: c.expiries,
            strikes: c.strikes,
            lotSize: c.lotSize,
          },
          today,
        ),
      );
    const room = Math.max(0, perConnection - group.length);
    const capacity = Math.min(room, planned?.[connection] ?? room);
    return ladders.length > 0 ? [{ connection, ladders, capacity }] : [];
  });
}

interface Lane {
  windows: StrikeWindows;
  send: ((message: string) => void) | undefined;
}

export class OptionFeed {
  private readonly mode: FeedMode;
  private readonly log: Logger;
  private readonly lanes = new Map<number, Lane>();
  private readonly byUnderlying = new Map<string, Lane>();
  private readonly warned = new Set<string>();
  private readonly described = new Map<string, OptionDescription | undefined>();

  private readonly metrics: Pick<IngestionMetrics, 'optionContracts' | 'optionRecentres'> | undefined;

  constructor(
    lanes: readonly OptionLane[],
    mode: FeedMode,
    log: Logger,
    metrics?: Pick<IngestionMetrics, 'optionContracts' | 'optionRecentres'>,
  ) {
    this.mode = mode;
    this.log = log;
    this.metrics = metrics;
    for (const l of lanes) {
      const lane: Lane = { windows: new StrikeWindows(l.ladders, l.capacity), send: undefined };
      this.lanes.set(l.connection, lane);
      for (const ladder of l.ladders) this.byUnderlying.set(ladder.underlyingId, lane);
    }
  }

  /** Contracts subscribed now, over all connections. */
  get subscribed(): number {
    let n = 0;
    for (const l of this.lanes.values()) n += l.windows.subscribed().length;
    return n;
  }

  /** Connection `connection` opened: it carries the current windows from now on. */
  attach(connection: number, send: (message: string) => void): void {
    const lane = this.lanes.get(connection);
    if (!lane) return;
    lane.send = send;
    for (const m of subscribeMessages(this.mode, lane.windows.subscribed())) send(m);
  }

  detach(connection: number): void {
    const lane = this.lanes.get(connection);
    if (lane) lane.send = undefined;
  }

  /** An instrument traded at `price`: the windows of that underlying follow it. */
  spot(underlyingId: string, price: number): WindowDiff | undefined {
    const lane = this.byUnderlying.get(underlyingId);
    if (!lane) return undefined;
    const diff = lane.windows.spot(underlyingId, price);
    if (diff.subscribe.length === 0 && diff.unsubscribe.length === 0) return diff;
    if (lane.windows.refused > 0 && !this.warned.has(underlyingId)) {
      this.warned.add(underlyingId);
      this.log.warn(
        { underlying: underlyingId, refused: lane.windows.refused },
        'live option contracts exceed the connection budget; the strikes furthest from the money are left to the REST chain',
      );
    }
    this.log.info(
      { underlying: underlyingId, spot: price, subscribe: diff.subscribe.length, unsubscribe: diff.unsubscribe.length },
      'option strike window re-centred',
    );
    this.metrics?.optionRecentres.inc();
    this.metrics?.optionContracts.set(this.subscribed);
    if (lane.send) {
      for (const m of unsubscribeMessages(this.mode, diff.unsubscribe)) lane.send(m);
      for (const m of subscribeMessages(this.mode, diff.subscribe)) lane.send(m);
    }
    return diff;
  }

  /** How ticks of a live option contract are described and keyed (undefined: not an option of ours). */
  describe(id: string): OptionDescription | undefined {
    let d = this.described.get(id);
    if (d === undefined && !this.described.has(id)) {
      for (const lane of this.lanes.values()) {
        const c = lane.windows.contract(id);
        if (c) d = describeContract(c);
      }
      this.described.set(id, d);
    }
    return d;
  }
}

function describeContract(c: OptionContract): OptionDescription {
  return {
    symbol: c.symbol,
    key: c.underlyingId,
    meta: {
      underlying: c.underlyingId,
      expiry: c.expiry,
      strike: c.strike,
      optionType: c.optionType === 'CE' ? 'CALL' : 'PUT',
      lotSize: c.lotSize,
      tickSize: c.tickSize,
    },
  };
}
