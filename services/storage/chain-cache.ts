// The latest option chain per (underlying, expiry), in process: built once from PostgreSQL, then
// kept current by the live updates every storage shard publishes on Redis live:<id> (any pod
// answers for any shard's underlying: Redis and PostgreSQL are shared by all shards). GEX has no
// live message, so an entry in use re-reads PostgreSQL every `refreshMs` for GEX and contracts that
// appeared meanwhile (strikes re-centred); quotes merge newest-wins, whichever path brought them.
// Bounded: at most `maxEntries` chains, the least recently used evicted first, idle ones dropped.
import type { OptionChain, OptionQuote, Snapshot } from '../core/messages.ts';
import { byStrikeThenType, type QueryContext } from './queries.ts';
import type { ChainQuery } from './requests.ts';

export interface ChainSource {
  resolveChain(ctx: QueryContext, q: ChainQuery): Promise<{ underlyingId: string; expiry: string }>;
  optionChain(ctx: QueryContext, q: ChainQuery): Promise<OptionChain>;
}

export interface LiveSource {
  /** Subscribes to live:<id> of each id; resolves once subscribed, with the unsubscriber. */
  subscribe(ids: readonly string[], listener: (bytes: Buffer) => void): Promise<() => void>;
  /** The latest snapshot bytes of each id Redis has (one round trip). */
  latest(ids: readonly string[]): Promise<Map<string, Buffer>>;
}

export interface ChainCacheOptions {
  source: ChainSource;
  live: LiveSource;
  decode: (bytes: Buffer) => Snapshot;
  encode: (chain: OptionChain) => Buffer;
  maxEntries?: number;
  idleMs?: number;
  refreshMs?: number;
  /** Symbol → id and nearest-expiry resolutions are reused this long. */
  resolveTtlMs?: number;
  now?: () => number;
}

/**
 * Loads and resolutions are shared by every caller waiting for them, so they run under their own
 * context: one caller cancelling or running out of time must not fail the others (each caller's
 * own deadline still ends its call, in gRPC).
 */
const SHARED_TIMEOUT_MS = 10_000;
const shared = (): QueryContext => ({ timeoutMs: SHARED_TIMEOUT_MS, onCancel: () => undefined });

/** Newest first by exchange time, then sequence: the rule Redis's latest:<id> applies. */
const newer = (a: OptionQuote, b: OptionQuote): boolean =>
  a.exchangeTimeMs > b.exchangeTimeMs || (a.exchangeTimeMs === b.exchangeTimeMs && a.seq > b.seq);

/** One cached chain. Pure state: merging rules, no I/O. */
export class ChainState {
  readonly underlyingId: string;
  readonly expiry: string;
  private readonly quotes = new Map<string, OptionQuote>();
  private gex: OptionChain['gex'] = null;
  private encoded: Buffer | undefined;

  constructor(underlyingId: string, expiry: string) {
    this.underlyingId = underlyingId;
    this.expiry = expiry;
  }

  get contractIds(): string[] {
    return [...this.quotes.keys()];
  }

  /** A chain read from PostgreSQL: its GEX replaces ours, its quotes merge newest-wins. */
  mergeChain(chain: OptionChain): void {
    const g = chain.gex ?? null;
    if (g && (!this.gex || g.timeMs >= this.gex.timeMs)) this.gex = g;
    for (const q of chain.quotes) this.mergeQuote(q);
    this.encoded = undefined;
  }

  /** A live quote of one of our contracts; returns whether it changed the chain. */
  mergeQuote(q: OptionQuote): boolean {
    if (q.meta.underlying !== this.underlyingId || q.meta.expiry !== this.expiry) return false;
    const cur = this.quotes.get(q.instrument.id);
    if (cur && !newer(q, cur)) return false;
    this.quotes.set(q.instrument.id, q);
    this.encoded = undefined;
    return true;
  }

  /** The chain as GetOptionChain answers it (same ordering and spot rule as the PostgreSQL path). */
  chain(): OptionChain {
    const list = [...this.quotes.values()].sort(byStrikeThenType);
    let newest: OptionQuote | undefined;
    for (const q of list) if (!newest || q.exchangeTimeMs > newest.exchangeTimeMs) newest = q;
    const gex = this.gex;
    const spot = gex && (!newest || gex.timeMs >= newest.exchangeTimeMs) ? gex.spot : (newest?.underlyingPrice ?? 0);
    return { underlyingId: this.underlyingId, expiry: this.expiry, spot, quotes: list, gex };
  }

  /** The encoded response, reused until the chain changes. */
  bytes(encode: (c: OptionChain) => Buffer): Buffer {
    this.encoded ??= encode(this.chain());
    return this.encoded;
  }
}

interface Entry {
  state: ChainState;
  ready: Promise<void>;
  usedAt: number;
  refreshedAt: number;
  refreshing: boolean;
  unsubscribe: (() => void)[];
  subscribed: Set<string>;
}

export class ChainCache {
  private readonly o: Required<ChainCacheOptions>;
  private readonly entries = new Map<string, Entry>();
  private readonly resolved = new Map<string, { at: number; value: Promise<{ underlyingId: string; expiry: string }> }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: ChainCacheOptions) {
    this.o = {
      maxEntries: 64,
      idleMs: 120_000,
      refreshMs: 2_000,
      resolveTtlMs: 30_000,
      now: Date.now,
      ...opts,
    };
    this.sweeper = setInterval(() => this.sweep(), Math.min(this.o.idleMs, 30_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The encoded OptionChain for a request; NotFoundError and database errors propagate. */
  async get(q: ChainQuery): Promise<Buffer> {
    const { underlyingId, expiry } = await this.resolve(q);
    const key = `${underlyingId}|${expiry}`;
    let entry = this.entries.get(key);
    const now = this.o.now();
    if (!entry) {
      entry = this.create(underlyingId, expiry, key);
    } else {
      this.entries.delete(key); // re-insert: Map order is the LRU order
      this.entries.set(key, entry);
      if (now - entry.refreshedAt >= this.o.refreshMs && !entry.refreshing) this.refresh(entry);
    }
    entry.usedAt = now;
    await entry.ready;
    return entry.state.bytes(this.o.encode);
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const e of this.entries.values()) for (const u of e.unsubscribe) u();
    this.entries.clear();
  }

  private resolve(q: ChainQuery): Promise<{ underlyingId: string; expiry: string }> {
    if ('id' in q.underlying && q.expiry !== '') return Promise.resolve({ underlyingId: q.underlying.id, expiry: q.expiry });
    const key = `${'id' in q.underlying ? q.underlying.id : `sym:${q.underlying.symbol}`}|${q.expiry}`;
    const hit = this.resolved.get(key);
    const now = this.o.now();
    if (hit && now - hit.at < this.o.resolveTtlMs) return hit.value;
    const value = this.o.source.resolveChain(shared(), q);
    this.resolved.set(key, { at: now, value });
    value.catch(() => this.resolved.delete(key));
    if (this.resolved.size > this.o.maxEntries * 4) this.resolved.delete(this.resolved.keys().next().value as string);
    return value;
  }

  private create(underlyingId: string, expiry: string, key: string): Entry {
    const state = new ChainState(underlyingId, expiry);
    const entry: Entry = {
      state,
      ready: Promise.resolve(),
      usedAt: this.o.now(),
      refreshedAt: this.o.now(),
      refreshing: false,
      unsubscribe: [],
      subscribed: new Set(),
    };
    entry.ready = this.load(entry);
    this.entries.set(key, entry);
    // A failed first load is not cached: the next caller tries again.
    entry.ready.catch(() => {
      if (this.entries.get(key) === entry) this.drop(key, entry);
    });
    while (this.entries.size > this.o.maxEntries) {
      const [oldKey, oldest] = this.entries.entries().next().value as [string, Entry];
      this.drop(oldKey, oldest);
    }
    return entry;
  }

  /**
   * Reads the chain from PostgreSQL, subscribes to the live channels of contracts not yet followed,
   * then reads their latest snapshots from Redis once, so an update published between the
   * PostgreSQL read and the subscription is not missed.
   */
  private async load(entry: Entry): Promise<void> {
    const { state } = entry;
    const chain = await this.o.source.optionChain(shared(), { underlying: { id: state.underlyingId }, expiry: state.expiry });
    state.mergeChain(chain);
    const fresh = state.contractIds.filter((id) => !entry.subscribed.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) entry.subscribed.add(id);
    try {
      const listener = (bytes: Buffer): void => this.onLive(state, bytes);
      entry.unsubscribe.push(await this.o.live.subscribe(fresh, listener));
      for (const bytes of (await this.o.live.latest(fresh)).values()) this.onLive(state, bytes);
    } catch {
      // Redis unavailable: the chain is still right as of PostgreSQL; retry the subscription on refresh.
      for (const id of fresh) entry.subscribed.delete(id);
    }
  }

  private refresh(entry: Entry): void {
    entry.refreshing = true;
    entry.refreshedAt = this.o.now();
    this.load(entry)
      .catch(() => undefined) // the cached chain keeps serving; the next refresh tries again
      .finally(() => {
        entry.refreshing = false;
      });
  }

  private onLive(state: ChainState, bytes: Buffer): void {
    let s: Snapshot;
    try {
      s = this.o.decode(bytes);
    } catch {
      return;
    }
    if (s.payload === 'optionQuote' && s.optionQuote) state.mergeQuote(s.optionQuote);
  }

  private sweep(): void {
    const now = this.o.now();
    for (const [key, e] of this.entries) if (now - e.usedAt > this.o.idleMs) this.drop(key, e);
  }

  private drop(key: string, e: Entry): void {
    this.entries.delete(key);
    for (const u of e.unsubscribe) u();
  }
}
