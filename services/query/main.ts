// `stockify query`: a gRPC client of any MarketData endpoint, for people (tables) and scripts (--json).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { flags, flagValue, parseCommand, usageError as showUsage } from '../core/cli.ts';
import { describeServiceError, isServiceError, MarketDataQuery } from './client.ts';
import { QUERY_COMMANDS } from './commands.ts';
import { parseTimeArg } from './format.ts';

const USAGE = `Usage: stockify query <command> [args] [options]

Commands:
  latest <instrument...>                 latest snapshot of each instrument; an instrument is an id
                                         (IDX_I:13) or a symbol (NIFTY), resolved as chain resolves it
  ticks <instrument> [--from T] [--to T] [--limit N] [--page-token TOKEN]
                                         stored ticks (default: the last hour, 100 per page)
  recent <instrument> [--limit N]        the newest N ticks, newest first (default 100, at most 1000)
  bars <instrument> [--from T] [--to T] [--interval 1m|5m|15m|1h|1d]
                                         OHLCV bars, 1-minute by default (default: the last day)
  chain <underlying> [--expiry YYYY-MM-DD]
                                         option chain with IV, Greeks and GEX; underlying is an
                                         instrument id (IDX_I:13) or a symbol (NIFTY); nearest expiry by default
  stream <instrument...>                 live quotes until Ctrl-C (a snapshot first)
  gaps <instrument | all> [--from T] [--to T]
                                         recorded ingestion gaps (a shard restarted without a
                                         handover: ticks may be missing in [from, to]); last day by default

Options:
  --endpoint HOST:PORT   MarketData endpoint (default localhost:50051)
  --json                 machine-readable output (stream: one JSON object per line)
  --timeout SECONDS      deadline of a unary call (default 10)
  --token JWT            bearer token for a feed with spec.auth (sent as authorization metadata)
  --token-file PATH      read the bearer token from a file (e.g. a projected ServiceAccount token)

Times (T): epoch milliseconds, ISO 8601 (2026-11-20T09:15:00+05:30), now, or now-<n><s|m|h|d>.`;

const OPTIONS = {
  endpoint: { type: 'string', default: 'localhost:50051' },
  json: { type: 'boolean', default: false },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  'page-token': { type: 'string' },
  expiry: { type: 'string' },
  interval: { type: 'string' },
  timeout: { type: 'string', default: '10' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
} as const;

/** Flags that are more than text; times are read against the moment the command started. */
const flagSchema = (nowMs: number) => {
  const time = flagValue('a time (epoch ms, ISO 8601, now or now-1h)', (text) => parseTimeArg(text, nowMs));
  return z.object({
    timeout: flags.seconds(),
    limit: flags.positiveInt().optional(),
    from: time.optional(),
    to: time.optional(),
    // The server's GetBars intervals (proto GetBarsRequest.interval).
    interval: z.enum(['1m', '5m', '15m', '1h', '1d']).optional(),
  });
};

const usageError = (message: string): number => showUsage(USAGE, `stockify query: ${message}`).exitCode;

export async function run(args: string[]): Promise<number> {
  const nowMs = Date.now();
  const cmd = parseCommand(args, { usage: USAGE, options: OPTIONS, schema: flagSchema(nowMs) });
  if (!cmd.ok) return cmd.exitCode;
  const { flags: values, positionals } = cmd.parsed;
  const [sub, ...rest] = positionals;
  if (sub === undefined) return usageError('a command is required');
  const command = Object.hasOwn(QUERY_COMMANDS, sub) ? QUERY_COMMANDS[sub] : undefined;
  if (!command) return usageError(`unknown command '${sub}'`);
  if (rest.length < 1) return usageError(`${sub} needs ${command.needs}`);
  if (values.token && values['token-file']) return usageError('--token and --token-file: give one, not both');
  let token = values.token;
  if (values['token-file']) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (err) {
      return usageError(`--token-file: cannot read ${values['token-file']}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  }
  const client = new MarketDataQuery(values.endpoint, values.timeout, token ? { token } : {});
  try {
    return await command.run(client, rest, values, nowMs);
  } catch (err) {
    if (!isServiceError(err)) throw err;
    process.stderr.write(`stockify query: ${describeServiceError(err)} (endpoint ${values.endpoint})\n`);
    return 1;
  } finally {
    client.close();
  }
}
