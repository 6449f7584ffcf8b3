// One Dhan budget per account (credentials Secret), shared by every shard of every MarketFeed that
// uses the Secret. Pure: feeds in, a plan per feed out, written into each shard's file.
//
// Dhan's limits belong to the account (client id), not to a process: 5 WebSocket connections,
// 5,000 instruments each, 100 per subscribe message, one option-chain request per 3 s. Of the 5
// connections one is kept spare, so that a new ingestion pod can connect and subscribe before the
// old one lets go (make-before-break handover); 4 carry the feeds.
//
// Connections. A feed gets the fewest connections its instruments fit in (each underlying with
// optionChain counts with its option contracts, so live option subscriptions fit too), in the
// order the feeds were created: a newer feed never takes a slot from an older one, and adding a
// feed changes no other feed's plan. A connection is held by one shard; with more shards than
// connections (8 shards, 1-4 connections), the shards without one are "carried": a shard holding a
// connection subscribes their instruments too and publishes each instrument's records to its HOME
// shard's raw topic, so every instrument is subscribed exactly once and processors, storage and
// resharding see exactly what they would if every shard had its own connection.
//
// Option chains. The account's one request per 3 s is cut into epoch-aligned slots of
// `slotMs` (optionChainPollSeconds plus a margin); slot n belongs to the shard listed at n mod
// cycle. A shard sends only within `sendWindowMs` of the start of one of its slots (a late timer
// skips the slot), so two requests of the account are never closer than slotMs − sendWindowMs −
// clock skew ≥ 3 s. Slots are dealt round-robin in proportion to the (underlying, expiry) pairs a
// shard polls, so the budget follows the work. The home shard polls its own underlyings (REST needs
// no connection), so a carried shard still fetches its chains.
import { instrumentId } from '../../services/core/messages.ts';
import type { MarketFeed, MarketFeedSpec } from '../crd/types.ts';

/** Dhan's limits per account (DESIGN.md §6). */
export const DHAN_LIMITS = {
  connections: 5,
  /** Kept free for the make-before-break handover of an ingestion pod. */
  spareConnections: 1,
  instrumentsPerConnection: 5_000,
  instrumentsPerMessage: 100,
  chainRequestMs: 3_000,
} as const;

/** Connections the feeds of one account may hold: all but the spare. */
export const USABLE_CONNECTIONS = DHAN_LIMITS.connections - DHAN_LIMITS.spareConnections;
/**
 * Added to the chain poll period: covers the send window (timer lateness), clock skew between nodes
 * and network jitter on the way to Dhan, which counts requests as they arrive. Measured against the
 * double under load, 500 ms left arrivals 2,975 ms apart; 1,000 ms leaves 750 ms beyond the window.
 */
export const CHAIN_SLOT_MARGIN_MS = 1_000;
/** How late in its slot a shard may still send (a timer later than this skips the slot). */
export const CHAIN_SEND_WINDOW_MS = 250;

type Instrument = MarketFeedSpec['instruments'][number];
type OptionChainSpec = NonNullable<Instrument['optionChain']>;

/**
 * The option contracts an underlying's optionChain subscribes live: `strikes` is the number of
 * strikes on EACH side of the money (the CRD says so), plus the one at the money, a call and a put
 * each, for each expiry.
 */
export function optionContracts(chain: Pick<OptionChainSpec, 'expiries' | 'strikes'> | undefined): number {
  return chain ? chain.expiries * (2 * chain.strikes + 1) * 2 : 0;
}

/** Subscriptions an instrument takes on a connection: itself and its option contracts. */
export const subscriptionsOf = (i: Pick<Instrument, 'optionChain'>): number => 1 + optionContracts(i.optionChain);

/** A MarketFeed as the planner reads it (creationTimestamp orders feeds on one account). */
export type AccountFeed = Pick<MarketFeed, 'spec'> & {
  metadata: Pick<MarketFeed['metadata'], 'name' | 'namespace'> & { creationTimestamp?: string | Date };
};

/** The account a Dhan feed uses: its credentials Secret, `<namespace>/<name>`; undefined for other sources. */
export function dhanAccount(feed: AccountFeed): string | undefined {
  const dhan = feed.spec.source.dhan;
  if (feed.spec.source.type !== 'dhan' || !dhan) return undefined;
  return `${feed.metadata.namespace}/${dhan.credentialsSecretRef.name}`;
}

export interface PlannedInstrument {
  /** Instrument id (`<segment>:<securityId>`). */
  id: string;
  /** The shard whose raw topic gets its records. */
  home: number;
  /** Live option contracts this underlying may subscribe on the same connection. */
  optionContracts: number;
}

export interface PlannedConnection {
  /** The account's connection slot (0 … USABLE_CONNECTIONS − 1). */
  slot: number;
  /** The shard that opens it. */
  holder: number;
  /** Subscriptions it carries (instruments and their option contracts), ≤ 5,000. */
  load: number;
  instruments: PlannedInstrument[];
}

export interface ChainSlots {
  slotMs: number;
  /** Slots in one turn of the account's cycle. */
  cycle: number;
  /** This shard's slots within the cycle. */
  slots: number[];
  sendWindowMs: number;
}

export interface ShardBudget {
  shard: number;
  connections: PlannedConnection[];
  /** Absent: the shard polls no option chain. */
  chain?: ChainSlots;
}

export interface FeedBudget {
  account: string;
  /** Connections this feed holds, and all the account's feeds hold (of USABLE_CONNECTIONS). */
  connections: number;
  accountConnections: number;
  /** Subscriptions: instruments plus their option contracts. */
  subscriptions: number;
  optionContracts: number;
  chainSlotMs: number;
  /** The feed's share of the account's chain slots. */
  chainSlots: number;
  chainCycle: number;
  shards: ShardBudget[];
}

export type BudgetLimit = 'connections' | 'instrumentsPerConnection';

export type FeedPlan = { ok: true; budget: FeedBudget } | { ok: false; account: string; limit: BudgetLimit; message: string };

const fmt = (n: number): string => n.toLocaleString('en-US');
/** Plain code-point order (localeCompare would put '~' before digits). */
const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const feedKey = (f: AccountFeed): string => `${f.metadata.namespace}/${f.metadata.name}`;
const createdAt = (f: AccountFeed): string => {
  const t = f.metadata.creationTimestamp;
  // Not created yet (a file for `stockify render`): after every feed that exists.
  return t instanceof Date ? t.toISOString() : (t ?? '~');
};

interface Unit {
  id: string;
  home: number;
  weight: number;
  optionContracts: number;
}

function unitsOf(groups: readonly (readonly Instrument[])[]): Unit[] {
  return groups.flatMap((g, home) =>
    g.map((i) => ({
      id: instrumentId(i.segment, i.securityId),
      home,
      weight: subscriptionsOf(i),
      optionContracts: optionContracts(i.optionChain),
    })),
  );
}

/**
 * Packs the units onto `count` connections, or undefined when they do not fit. Connections are held
 * by the most loaded shards (fewest instruments carried); an instrument goes to a connection of its
 * home shard when one has room, else to the connection with the most room (the load spreads).
 */
export function pack(units: readonly Unit[], shards: number, count: number, firstSlot = 0): PlannedConnection[] | undefined {
  const loads = Array.from({ length: shards }, () => 0);
  for (const u of units) loads[u.home] = (loads[u.home] ?? 0) + u.weight;
  const holders = loads
    .map((load, shard) => ({ load, shard }))
    .sort((a, b) => b.load - a.load || a.shard - b.shard)
    .map((h) => h.shard);
  const conns: PlannedConnection[] = Array.from({ length: count }, (_, k) => ({
    slot: firstSlot + k,
    holder: holders[k % shards] ?? 0,
    load: 0,
    instruments: [],
  }));
  const order = [...units].sort((a, b) => b.weight - a.weight || byCodePoint(a.id, b.id));
  const cap = DHAN_LIMITS.instrumentsPerConnection;
  for (const u of order) {
    let best: PlannedConnection | undefined;
    for (const c of conns) {
      if (c.load + u.weight > cap) continue;
      if (!best) best = c;
      else {
        const home = c.holder === u.home;
        const bestHome = best.holder === u.home;
        if ((home && !bestHome) || (home === bestHome && c.load < best.load)) best = c;
      }
    }
    if (!best) return undefined;
    best.load += u.weight;
    best.instruments.push({ id: u.id, home: u.home, optionContracts: u.optionContracts });
  }
  for (const c of conns) c.instruments.sort((a, b) => a.home - b.home || byCodePoint(a.id, b.id));
  return conns;
}

/** Deals `cycle` slots round-robin over the weights: slot list per index of `weights`. */
export function dealSlots(weights: readonly number[]): { cycle: number; slots: number[][] } {
  const left = [...weights];
  const slots: number[][] = weights.map(() => []);
  let cycle = 0;
  while (left.some((w) => w > 0)) {
    for (let i = 0; i < left.length; i++) {
      if ((left[i] ?? 0) <= 0) continue;
      slots[i]?.push(cycle++);
      left[i] = (left[i] ?? 0) - 1;
    }
  }
  return { cycle, slots };
}

interface Placed {
  feed: AccountFeed;
  groups: Instrument[][];
  connections: PlannedConnection[];
  subscriptions: number;
  optionContracts: number;
}

function refusal(account: string, limit: BudgetLimit, message: string): FeedPlan {
  return { ok: false, account, limit, message: `Dhan account (Secret ${account}): ${message}` };
}

/** Places one feed on the slots left; a refusal names the limit it breaks. */
function place(
  feed: AccountFeed,
  groups: Instrument[][],
  account: string,
  used: number,
  holders: readonly string[],
): Placed | FeedPlan {
  const units = unitsOf(groups);
  const subscriptions = units.reduce((s, u) => s + u.weight, 0);
  const contracts = units.reduce((s, u) => s + u.optionContracts, 0);
  const cap = DHAN_LIMITS.instrumentsPerConnection;
  const tooBig = units.find((u) => u.weight > cap);
  if (tooBig) {
    return refusal(
      account,
      'instrumentsPerConnection',
      `${tooBig.id} with its ${fmt(tooBig.optionContracts)} option contracts needs ${fmt(tooBig.weight)} subscriptions, more than the ${fmt(cap)} of one connection: lower optionChain.expiries or strikes`,
    );
  }
  const free = USABLE_CONNECTIONS - used;
  const shards = feed.spec.shards;
  for (let count = Math.ceil(subscriptions / cap); count <= free; count++) {
    const connections = count === 0 ? [] : pack(units, shards, count, used);
    if (connections) return { feed, groups, connections, subscriptions, optionContracts: contracts };
  }
  const others = holders.length > 0 ? `; ${used} held by ${holders.join(', ')}` : '';
  return refusal(
    account,
    'connections',
    `${fmt(subscriptions)} subscriptions (${fmt(units.length)} instruments + ${fmt(contracts)} option contracts) need more than the ${free} free of ${USABLE_CONNECTIONS} connections × ${fmt(cap)} instruments (5 connections, 1 kept spare for handover${others}); more shards do not add capacity on one account: follow fewer instruments, strikes or expiries, or use another Dhan account (credentials Secret)`,
  );
}

/** Chain slots of every placed feed's shards, dealt over the whole account. */
function chainSlots(placed: readonly Placed[]): Map<Placed, (ChainSlots | undefined)[]> {
  const slotMs =
    Math.max(DHAN_LIMITS.chainRequestMs, ...placed.map((p) => (p.feed.spec.source.dhan?.optionChainPollSeconds ?? 3) * 1000)) +
    CHAIN_SLOT_MARGIN_MS;
  const weights = placed.flatMap((p) =>
    p.groups.map((g) => g.reduce((s, i) => s + (i.optionChain ? i.optionChain.expiries : 0), 0)),
  );
  const dealt = dealSlots(weights);
  const out = new Map<Placed, (ChainSlots | undefined)[]>();
  let k = 0;
  for (const p of placed) {
    out.set(
      p,
      p.groups.map(() => {
        const slots = dealt.slots[k++] ?? [];
        return slots.length > 0 ? { slotMs, cycle: dealt.cycle, slots, sendWindowMs: CHAIN_SEND_WINDOW_MS } : undefined;
      }),
    );
  }
  return out;
}

/**
 * The budget of every Dhan feed on one account, keyed `<namespace>/<name>`. `groups` gives a feed's
 * instruments per shard (rendezvous hashing). Feeds are placed oldest first; one that does not fit
 * is refused and takes nothing, so the others are planned as if it were absent.
 */
export function planAccount(
  feeds: readonly AccountFeed[],
  groupsOf: (feed: AccountFeed) => Instrument[][],
): Map<string, FeedPlan> {
  const plans = new Map<string, FeedPlan>();
  const byAccount = new Map<string, AccountFeed[]>();
  for (const f of feeds) {
    const account = dhanAccount(f);
    if (account) byAccount.set(account, [...(byAccount.get(account) ?? []), f]);
  }
  for (const [account, members] of byAccount) {
    const ordered = [...members].sort((a, b) => byCodePoint(createdAt(a), createdAt(b)) || byCodePoint(feedKey(a), feedKey(b)));
    const placed: Placed[] = [];
    let used = 0;
    for (const f of ordered) {
      const p = place(
        f,
        groupsOf(f),
        account,
        used,
        placed.filter((x) => x.connections.length > 0).map((x) => `${x.feed.metadata.name} (${x.connections.length})`),
      );
      if ('ok' in p) {
        plans.set(feedKey(f), p);
        continue;
      }
      placed.push(p);
      used += p.connections.length;
    }
    const chains = chainSlots(placed);
    for (const p of placed) {
      const perShard = chains.get(p) ?? [];
      const shards: ShardBudget[] = p.groups.map((_, shard) => {
        const chain = perShard[shard];
        return { shard, connections: p.connections.filter((c) => c.holder === shard), ...(chain ? { chain } : {}) };
      });
      const first = perShard.find((c) => c !== undefined);
      plans.set(feedKey(p.feed), {
        ok: true,
        budget: {
          account,
          connections: p.connections.length,
          accountConnections: used,
          subscriptions: p.subscriptions,
          optionContracts: p.optionContracts,
          chainSlotMs: first?.slotMs ?? 0,
          chainSlots: perShard.reduce((s, c) => s + (c?.slots.length ?? 0), 0),
          chainCycle: first?.cycle ?? 0,
          shards,
        },
      });
    }
  }
  return plans;
}

/** The plan of one feed among the feeds sharing its account (`peers` may include it). */
export function planFeed(
  feed: AccountFeed,
  peers: readonly AccountFeed[],
  groupsOf: (feed: AccountFeed) => Instrument[][],
): FeedPlan | undefined {
  const account = dhanAccount(feed);
  if (!account) return undefined;
  const key = feedKey(feed);
  const others = peers.filter((p) => feedKey(p) !== key && dhanAccount(p) === account);
  return planAccount([...others, feed], groupsOf).get(key);
}
