// Reads a child's /metrics and /readyz (the endpoints every component serves on METRICS_PORT).
import { parsePrometheus, type Sample } from './prometheus.ts';

export interface ScrapeResult {
  atMs: number;
  /** Undefined when /metrics did not answer. */
  samples?: Sample[];
  /** Metric families declared by `# TYPE` lines. */
  declared?: Set<string>;
  /** /readyz answered 200 (true) or 503 (false); undefined when it did not answer. */
  ready?: boolean;
  error?: string;
}

export async function scrapeProcess(port: number, timeoutMs = 800, host = '127.0.0.1'): Promise<ScrapeResult> {
  const atMs = Date.now();
  const base = `http://${host}:${port}`;
  const [metrics, ready] = await Promise.allSettled([
    fetch(`${base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => {
      if (!r.ok) throw new Error(`/metrics answered ${r.status}`);
      return r.text();
    }),
    fetch(`${base}/readyz`, { signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => {
      await r.arrayBuffer();
      return r.status === 200;
    }),
  ]);
  const result: ScrapeResult = { atMs };
  if (metrics.status === 'fulfilled') {
    const parsed = parsePrometheus(metrics.value);
    result.samples = parsed.samples;
    result.declared = new Set(parsed.types.keys());
  } else result.error = metrics.reason instanceof Error ? metrics.reason.message : String(metrics.reason);
  if (ready.status === 'fulfilled') result.ready = ready.value;
  return result;
}
