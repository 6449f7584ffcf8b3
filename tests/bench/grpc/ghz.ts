// ghz (github.com/bojand/ghz, built by infra/ghz/build.sh) as the load generator: a Go client, so
// the load it can offer is not limited by a Node event loop. MarketData is called over server
// reflection with proto/'s field names; the echo reference through tests/bench/grpc/echo.proto.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LoadResult } from './load.ts';

const run = promisify(execFile);
const BUILD = fileURLToPath(new URL('../../../infra/ghz/build.sh', import.meta.url));
export const ECHO_PROTO = fileURLToPath(new URL('./echo.proto', import.meta.url));

/** Builds ghz once (cached) and returns its path. */
export async function ghzPath(): Promise<string> {
  return (await run('bash', [BUILD], { timeout: 1_800_000 })).stdout.trim();
}

export interface GhzOptions {
  ghz: string;
  address: string;
  /** package.Service/Method */
  call: string;
  data: unknown;
  /** A .proto for servers without reflection. */
  proto?: string;
  concurrency: number;
  durationMs: number;
  /** Calls left out of the figures (connection set-up, JIT warm-up). */
  skipFirst?: number;
}

interface GhzReport {
  count: number;
  rps: number;
  latencyDistribution: { percentage: number; latency: number }[] | null;
  statusCodeDistribution: Record<string, number> | null;
  errorDistribution: Record<string, number> | null;
}

/** What a call in flight when ghz stops reads as. */
const STOP_ERROR = /transport is closing|client connection is closing|context canceled/i;

export async function runGhz(o: GhzOptions): Promise<LoadResult> {
  const args = [
    '--insecure',
    '--call',
    o.call,
    '-d',
    JSON.stringify(o.data),
    '-c',
    String(o.concurrency),
    '--connections',
    String(Math.max(1, Math.ceil(o.concurrency / 8))),
    '-z',
    `${Math.round(o.durationMs / 1000)}s`,
    '--skipFirst',
    String(o.skipFirst ?? 200),
    '-O',
    'json',
    ...(o.proto ? ['--proto', o.proto] : []),
    o.address,
  ];
  const { stdout } = await run(o.ghz, args, { timeout: o.durationMs + 60_000, maxBuffer: 64 << 20 });
  const r = JSON.parse(stdout) as GhzReport;
  const at = (p: number): number => (r.latencyDistribution?.find((d) => d.percentage === p)?.latency ?? Number.NaN) / 1e6;
  const ok = r.statusCodeDistribution?.OK ?? 0;
  // ghz closes its connections when the duration ends: the calls then in flight fail with
  // "Unavailable: transport is closing" (or Canceled: "the client connection is closing") — up to one
  // per worker is not a failure.
  const closing = Object.entries(r.errorDistribution ?? {})
    .filter(([message]) => STOP_ERROR.test(message))
    .reduce((n, [, v]) => n + v, 0);
  const inFlightAtStop = Math.min(closing, o.concurrency);
  const errors =
    Object.entries(r.statusCodeDistribution ?? {})
      .filter(([code]) => code !== 'OK')
      .reduce((n, [, v]) => n + v, 0) - inFlightAtStop;
  const firstError = Object.keys(r.errorDistribution ?? {}).find((m) => !STOP_ERROR.test(m));
  return {
    method: o.call,
    concurrency: o.concurrency,
    calls: ok,
    totalCalls: r.count + (o.skipFirst ?? 200),
    errors,
    ...(firstError ? { firstError } : {}),
    rps: r.rps,
    p50Ms: at(50),
    p99Ms: at(99),
    responseBytes: 0,
  };
}
