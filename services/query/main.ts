// `stockify query`: a gRPC client of any MarketData endpoint, for people (tables) and scripts (--json).
import * as grpc from '@grpc/grpc-js';
import { parseCommand } from '../core/cli.ts';
import type { Bar, OptionChain, Tick } from '../core/messages.ts';
import { serviceClient } from '../core/proto.ts';
import { formatBars, formatChain, formatSnapshotLine, formatTicks, parseTimeArg, type WireSnapshot } from './format.ts';

const USAGE = `Usage: stockify query <command> [args] [options]

Commands:
  latest <instrument...>                 latest snapshot of each instrument
  ticks <instrument> [--from T] [--to T] [--limit N] [--page-token TOKEN]
                                         stored ticks (default: the last hour, 100 per page)
  bars <instrument> [--from T] [--to T]  1-minute bars (default: the last day)
  chain <underlying> [--expiry YYYY-MM-DD]
                                         option chain with IV, Greeks and GEX; underlying is an
                                         instrument id (IDX_I:13) or a symbol (NIFTY); nearest expiry by default
  stream <instrument...>                 live quotes until Ctrl-C (a snapshot first)

Options:
  --endpoint HOST:PORT   MarketData endpoint (default localhost:50051)
  --json                 machine-readable output (stream: one JSON object per line)
  --timeout SECONDS      deadline of a unary call (default 10)

Times (T): epoch milliseconds, ISO 8601 (2026-11-20T09:15:00+05:30), now, or now-<n><s|m|h|d>.`;

const OPTIONS = {
  endpoint: { type: 'string', default: 'localhost:50051' },
  json: { type: 'boolean', default: false },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  'page-token': { type: 'string' },
  expiry: { type: 'string' },
  timeout: { type: 'string', default: '10' },
} as const;

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

class Usage extends Error {}

function unary<T>(client: grpc.Client, method: string, req: unknown, timeoutS: number): Promise<T> {
  const fn = (client as unknown as Record<string, Unary>)[method];
  if (!fn) throw new Error(`MarketData has no method ${method}`);
  return new Promise((resolve, reject) =>
    fn.call(client, req, { deadline: Date.now() + timeoutS * 1000 }, (err, res) => (err ? reject(err) : resolve(res as T))),
  );
}

function time(v: string | undefined, fallback: number, flag: string, now: number): number {
  if (v === undefined) return fallback;
  const t = parseTimeArg(v, now);
  if (t === undefined) throw new Usage(`--${flag} '${v}' is not a time (epoch ms, ISO 8601, now or now-1h)`);
  return t;
}

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};

export async function run(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { usage: USAGE, options: OPTIONS });
  if (!cmd.ok) return cmd.exitCode;
  const { values, positionals } = cmd.parsed;
  const [sub, ...rest] = positionals;
  const json = values.json === true;
  const timeoutS = Number(values.timeout);
  const now = Date.now();
  const Ctor = serviceClient('MarketData');
  let client: grpc.Client | undefined;
  try {
    if (!Number.isFinite(timeoutS) || timeoutS <= 0)
      throw new Usage(`--timeout '${values.timeout}' must be a positive number of seconds`);
    const need = (n: number, what: string): void => {
      if (rest.length < n) throw new Usage(`${sub} needs ${what}`);
    };
    client = new Ctor(String(values.endpoint), grpc.credentials.createInsecure());
    switch (sub) {
      case 'latest': {
        need(1, 'at least one instrument id');
        const res = await unary<{ snapshots: WireSnapshot[] }>(client, 'GetLatest', { instruments: rest }, timeoutS);
        if (json) print(JSON.stringify(res.snapshots));
        else if (res.snapshots.length === 0) print('no snapshots stored for these instruments');
        else for (const s of res.snapshots) print(formatSnapshotLine(s));
        return 0;
      }
      case 'ticks': {
        need(1, 'an instrument id');
        const to = time(values.to, now, 'to', now);
        const from = time(values.from, to - 3_600_000, 'from', now);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new Usage(`--limit '${values.limit}' must be a positive integer`);
        const res = await unary<{ ticks: Tick[]; nextPageToken: string }>(
          client,
          'GetTicks',
          { instrument: rest[0], fromMs: from, toMs: to, limit, pageToken: values['page-token'] ?? '' },
          timeoutS,
        );
        if (json) print(JSON.stringify(res));
        else {
          print(formatTicks(res.ticks));
          print(res.nextPageToken ? `more: --page-token ${res.nextPageToken}` : `${res.ticks.length} ticks, no more pages`);
        }
        return 0;
      }
      case 'bars': {
        need(1, 'an instrument id');
        const to = time(values.to, now, 'to', now);
        const from = time(values.from, to - 86_400_000, 'from', now);
        const res = await unary<{ bars: Bar[] }>(client, 'GetBars', { instrument: rest[0], fromMs: from, toMs: to }, timeoutS);
        print(json ? JSON.stringify(res.bars) : formatBars(res.bars));
        return 0;
      }
      case 'chain': {
        need(1, 'an underlying (instrument id or symbol)');
        const res = await unary<OptionChain>(
          client,
          'GetOptionChain',
          { underlying: rest[0], expiry: values.expiry ?? '' },
          timeoutS,
        );
        print(json ? JSON.stringify(res) : formatChain(res));
        return 0;
      }
      case 'stream': {
        need(1, 'at least one instrument id');
        const stream = (
          client as unknown as { StreamQuotes(req: unknown): grpc.ClientReadableStream<WireSnapshot> }
        ).StreamQuotes({
          instruments: rest,
        });
        const stop = (): void => stream.cancel();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        return await new Promise<number>((resolve) => {
          stream.on('data', (s: WireSnapshot) => print(json ? JSON.stringify(s) : formatSnapshotLine(s)));
          stream.on('error', (err: grpc.ServiceError) => {
            if (err.code === grpc.status.CANCELLED) resolve(0);
            else {
              process.stderr.write(`stockify query: ${grpc.status[err.code]}: ${err.details || err.message}\n`);
              resolve(1);
            }
          });
          stream.on('end', () => resolve(0));
        });
      }
      case undefined:
        throw new Usage('a command is required');
      default:
        throw new Usage(`unknown command '${sub}'`);
    }
  } catch (err) {
    if (err instanceof Usage) {
      process.stderr.write(`stockify query: ${err.message}\n\n${USAGE}\n`);
      return 2;
    }
    const e = err as grpc.ServiceError;
    if (typeof e.code === 'number') {
      process.stderr.write(`stockify query: ${grpc.status[e.code]}: ${e.details || e.message} (endpoint ${values.endpoint})\n`);
      return 1;
    }
    throw err;
  } finally {
    client?.close();
  }
}
