// The subcommands of `stockify query`: each asks MarketData once (or streams) and prints the answer
// as a table for people or JSON for scripts.
import * as grpc from '@grpc/grpc-js';
import { describeServiceError, type MarketDataQuery } from './client.ts';
import { formatBars, formatChain, formatSnapshotLine, formatTicks, formatTime, table, type WireSnapshot } from './format.ts';
import { resolveInstruments, type SymbolResolver, UnresolvedSymbolError } from './resolve.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const DEFAULT_TICKS_PER_PAGE = 100;

export interface QueryFlags {
  json: boolean;
  from?: number;
  to?: number;
  limit?: number;
  'page-token'?: string;
  expiry?: string;
  interval?: string;
}

export interface QueryCommand {
  /** What the positional arguments must hold, for the usage error when they are missing. */
  needs: string;
  run: (client: MarketDataQuery, args: string[], flags: QueryFlags, nowMs: number) => Promise<number>;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

/** The underlying id `chain` would use for a symbol. */
const chainResolver =
  (client: MarketDataQuery): SymbolResolver =>
  async (symbol) =>
    (await client.optionChain({ underlying: symbol, expiry: '' })).underlyingId;

async function latest(client: MarketDataQuery, args: string[], flags: QueryFlags): Promise<number> {
  let ids: string[];
  try {
    ids = await resolveInstruments(args, chainResolver(client));
  } catch (err) {
    if (!(err instanceof UnresolvedSymbolError)) throw err;
    process.stderr.write(`stockify query: ${err.message}\n`);
    return 1;
  }
  const res = await client.latest(ids);
  if (flags.json) print(JSON.stringify(res.snapshots));
  else if (res.snapshots.length === 0) print('no snapshots stored for these instruments');
  else for (const s of res.snapshots) print(formatSnapshotLine(s));
  return 0;
}

async function ticks(client: MarketDataQuery, args: string[], flags: QueryFlags, nowMs: number): Promise<number> {
  const instrument = args[0] ?? '';
  const toMs = flags.to ?? nowMs;
  const fromMs = flags.from ?? toMs - HOUR_MS;
  const limit = flags.limit ?? DEFAULT_TICKS_PER_PAGE;
  const res = await client.ticks({ instrument, fromMs, toMs, limit, pageToken: flags['page-token'] ?? '' });
  if (flags.json) print(JSON.stringify(res));
  else {
    print(formatTicks(res.ticks));
    print(res.nextPageToken ? `more: --page-token ${res.nextPageToken}` : `${res.ticks.length} ticks, no more pages`);
  }
  return 0;
}

async function recent(client: MarketDataQuery, args: string[], flags: QueryFlags): Promise<number> {
  const res = await client.recentTicks({ instrument: args[0] ?? '', limit: flags.limit ?? 0 });
  if (flags.json) print(JSON.stringify(res.ticks));
  else {
    print(formatTicks(res.ticks));
    print(`${res.ticks.length} most recent ticks, newest first`);
  }
  return 0;
}

async function bars(client: MarketDataQuery, args: string[], flags: QueryFlags, nowMs: number): Promise<number> {
  const instrument = args[0] ?? '';
  const toMs = flags.to ?? nowMs;
  const fromMs = flags.from ?? toMs - DAY_MS;
  const res = await client.bars({ instrument, fromMs, toMs, interval: flags.interval ?? '1m' });
  print(flags.json ? JSON.stringify(res.bars) : formatBars(res.bars));
  return 0;
}

/** Ingestion gaps: stretches in which a shard may have missed ticks ("all" for every instrument). */
async function gaps(client: MarketDataQuery, args: string[], flags: QueryFlags, nowMs: number): Promise<number> {
  const instrument = args[0] === 'all' ? '' : (args[0] ?? '');
  const toMs = flags.to ?? nowMs;
  const fromMs = flags.from ?? toMs - DAY_MS;
  const res = await client.gaps({ instrument, fromMs, toMs });
  if (flags.json) print(JSON.stringify(res.gaps));
  else if (res.gaps.length === 0) print('no recorded gaps in this range');
  else {
    const rows = res.gaps.map((g) => [
      `${g.namespace}/${g.feed}`,
      String(g.shard),
      formatTime(g.fromMs),
      formatTime(g.toMs),
      `${((g.toMs - g.fromMs) / 1000).toFixed(1)} s`,
      String(g.instrumentIds.length),
    ]);
    print(table(['feed', 'shard', 'from', 'to', 'length', 'instruments'], rows, [false, true, false, false, true, true]));
  }
  return 0;
}

async function chain(client: MarketDataQuery, args: string[], flags: QueryFlags): Promise<number> {
  const underlying = args[0] ?? '';
  const res = await client.optionChain({ underlying, expiry: flags.expiry ?? '' });
  print(flags.json ? JSON.stringify(res) : formatChain(res));
  return 0;
}

/** Quotes until Ctrl-C: exit 0 when cancelled or ended, 1 when the stream fails. */
function stream(client: MarketDataQuery, args: string[], flags: QueryFlags): Promise<number> {
  const quotes = client.stream(args);
  const stop = (): void => quotes.cancel();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise<number>((resolve) => {
    quotes.on('data', (s: WireSnapshot) => print(flags.json ? JSON.stringify(s) : formatSnapshotLine(s)));
    quotes.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED) resolve(0);
      else {
        process.stderr.write(`stockify query: ${describeServiceError(err)}\n`);
        resolve(1);
      }
    });
    quotes.on('end', () => resolve(0));
  });
}

export const QUERY_COMMANDS: Readonly<Record<string, QueryCommand>> = {
  latest: { needs: 'at least one instrument (id or symbol)', run: latest },
  ticks: { needs: 'an instrument id', run: ticks },
  recent: { needs: 'an instrument id', run: recent },
  bars: { needs: 'an instrument id', run: bars },
  chain: { needs: 'an underlying (instrument id or symbol)', run: chain },
  gaps: { needs: "an instrument id, or 'all'", run: gaps },
  stream: { needs: 'at least one instrument id', run: stream },
};
