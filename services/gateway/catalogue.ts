// The instruments the feed has stored, for symbol search (the console's search box) and the expiries
// of each underlying's option chain: read from Redis latest:<id> (every instrument with a stored
// quote has one; contract in proto/stockify/v1/redis.proto), refreshed in the background.
import type { Redis } from 'ioredis';
import type { OptionQuote, Tick } from '../core/messages.ts';
import { codec } from '../core/proto.ts';
import { readLatest } from './live.ts';

/** A Snapshot as protobufjs decodes it: the oneof's member is set, the other absent. */
export interface DecodedSnapshot {
  instrumentId: string;
  timeMs: number;
  tick?: Tick | null;
  optionQuote?: OptionQuote | null;
}

const snapshotCodec = codec<DecodedSnapshot>('Snapshot');

export interface CatalogueEntry {
  id: string;
  symbol: string;
  segment: string;
  securityId: string;
  /** Underlying instrument id of an option contract; "" for anything else. */
  underlying: string;
  /** YYYY-MM-DD for derivatives, "" otherwise. */
  expiry: string;
  strike: number;
  optionType: 'CALL' | 'PUT' | '';
}

/** A catalogue entry from a Snapshot (tick or option quote); undefined when it names no instrument. */
export function entryOf(s: DecodedSnapshot): CatalogueEntry | undefined {
  const tick = s.tick;
  const quote = s.optionQuote;
  const ref = tick?.instrument ?? quote?.instrument;
  if (!ref?.id) return undefined;
  const meta = quote?.meta ?? tick?.meta ?? undefined;
  const type = meta?.optionType;
  return {
    id: ref.id,
    symbol: ref.symbol,
    segment: String(ref.segment),
    securityId: ref.securityId,
    underlying: meta?.underlying ?? '',
    expiry: meta?.expiry ?? '',
    strike: meta?.strike ?? 0,
    optionType: type === 'CALL' || type === 'PUT' ? type : '',
  };
}

/** Pure search: symbol or id prefix, case-insensitive; underlyings and equities before contracts. */
export function search(entries: Iterable<CatalogueEntry>, prefix: string, limit: number): CatalogueEntry[] {
  const p = prefix.toUpperCase();
  const hits = [...entries].filter((e) => e.symbol.toUpperCase().startsWith(p) || e.id.toUpperCase().startsWith(p));
  hits.sort(
    (a, b) =>
      Number(a.optionType !== '') - Number(b.optionType !== '') ||
      a.symbol.length - b.symbol.length ||
      a.symbol.localeCompare(b.symbol) ||
      a.id.localeCompare(b.id),
  );
  return hits.slice(0, limit);
}

export class Catalogue {
  private readonly redis: Redis;
  private readonly entries = new Map<string, CatalogueEntry>();
  private refreshedAt = 0;
  private inflight: Promise<void> | undefined;
  private readonly maxAgeMs: number;

  constructor(redis: Redis, maxAgeMs = 15_000) {
    this.redis = redis;
    this.maxAgeMs = maxAgeMs;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Entries, refreshed first when older than maxAgeMs (one refresh at a time). */
  async all(): Promise<Iterable<CatalogueEntry>> {
    if (Date.now() - this.refreshedAt > this.maxAgeMs) {
      this.inflight ??= this.refresh().finally(() => {
        this.inflight = undefined;
      });
      await this.inflight;
    }
    return this.entries.values();
  }

  /** Expiries with stored contracts of an underlying (id or symbol), ascending. */
  async expiries(underlying: string): Promise<string[]> {
    const all = [...(await this.all())];
    const id = underlying.includes(':') ? underlying : all.find((e) => e.symbol === underlying && !e.optionType)?.id;
    const out = new Set<string>();
    for (const e of all) if (e.optionType && e.expiry && e.underlying === id) out.add(e.expiry);
    return [...out].sort();
  }

  /** Scans latest:* and decodes the snapshots of ids not seen yet (known ones never change identity). */
  private async refresh(): Promise<void> {
    const fresh: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', 'latest:*', 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const id = k.slice('latest:'.length);
        if (!this.entries.has(id)) fresh.push(id);
      }
    } while (cursor !== '0');
    for (let i = 0; i < fresh.length; i += 500) {
      const found = await readLatest(this.redis, fresh.slice(i, i + 500));
      for (const bytes of found.values()) {
        try {
          const e = entryOf(snapshotCodec.decode(bytes));
          if (e) this.entries.set(e.id, e);
        } catch {
          // a value that is not a Snapshot is not ours to list
        }
      }
    }
    this.refreshedAt = Date.now();
  }
}
