// A gRPC load generator on grpc-js: `concurrency` callers, each issuing one unary call after the
// other for a fixed time, on one HTTP/2 channel per 8 callers. Requests are encoded once and
// responses are not decoded (identity serialisers), so the client spends its CPU on gRPC itself
// and the server's work shows. The same client measures the echo reference and our server.
import * as grpc from '@grpc/grpc-js';

/** The echo reference's one method (tests/bench/grpc/echo-server.ts). */
export const ECHO_METHOD = '/bench.Echo/Echo';

export interface LoadOptions {
  address: string;
  /** Full method path, e.g. /stockify.v1.MarketData/GetLatest. */
  method: string;
  request: Buffer;
  concurrency: number;
  durationMs: number;
  warmupMs?: number;
  deadlineMs?: number;
}

export interface LoadResult {
  method: string;
  concurrency: number;
  calls: number;
  /** Every answered call, warm-up included (to divide the server's CPU time by). */
  totalCalls: number;
  errors: number;
  /** The first error's status and message, when any call failed. */
  firstError?: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Bytes of one response. */
  responseBytes: number;
}

const identity = (b: Buffer): Buffer => b;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const channels = Math.max(1, Math.ceil(o.concurrency / 8));
  const clients = Array.from(
    { length: channels },
    // A distinct channel option per client: grpc-js would otherwise share one subchannel.
    (_, i) => new grpc.Client(o.address, grpc.credentials.createInsecure(), { 'grpc.bench_channel': i }),
  );
  const once = (client: grpc.Client): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest(
        o.method,
        identity,
        identity,
        o.request,
        { deadline: Date.now() + (o.deadlineMs ?? 10_000) },
        (err, res) => (err ? reject(err) : resolve(res as Buffer)),
      );
    });
  let responseBytes = 0;
  try {
    responseBytes = (await once(clients[0] as grpc.Client)).length;
  } catch (err) {
    for (const c of clients) c.close();
    throw new Error(`${o.method}: the first call failed: ${(err as Error).message}`);
  }

  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let total = 0;
  let errors = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stop = false;
  const caller = async (client: grpc.Client): Promise<void> => {
    while (!stop) {
      const t0 = performance.now();
      try {
        await once(client);
        total += 1;
        if (!measuring) continue;
        if (n === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[n++] = performance.now() - t0;
      } catch (err) {
        if (!measuring) continue;
        errors += 1;
        firstError ??= (err as Error).message;
      }
    }
  };
  const callers = Array.from({ length: o.concurrency }, (_, i) => caller(clients[i % channels] as grpc.Client));
  await new Promise((r) => setTimeout(r, o.warmupMs ?? 1_000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, o.durationMs));
  measuring = false;
  const elapsed = performance.now() - started;
  stop = true;
  await Promise.all(callers);
  for (const c of clients) c.close();
  const sorted = latencies.slice(0, n).sort();
  return {
    method: o.method,
    concurrency: o.concurrency,
    calls: n,
    totalCalls: total,
    errors,
    ...(firstError ? { firstError } : {}),
    rps: n / (elapsed / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    responseBytes,
  };
}
