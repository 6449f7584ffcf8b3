// From two scrapes of a process's /metrics to the figures the view shows. Pure.
import type { ComponentMetricNames, MetricRef } from './metric-names.ts';
import { type Sample, sumOf } from './prometheus.ts';

export interface Scrape {
  atMs: number;
  samples: readonly Sample[];
  /** Metric families the process declares (`# TYPE`): declared without samples reads as zero. */
  declared?: ReadonlySet<string>;
}

export interface ComponentStats {
  /** Throughput per second between the two scrapes (undefined until there are two). */
  rate?: number;
  /** Throughput counter now. */
  total?: number;
  lag?: number;
  rows?: number;
  rowsByTable?: Readonly<Record<string, number>>;
  errors?: number;
}

function metricValue(scrape: Scrape, ref: MetricRef): number | undefined {
  // A labelled counter has no samples until its first increment; declared means zero so far.
  return sumOf(scrape.samples, ref.name, ref.labels, ref.exclude) ?? (scrape.declared?.has(ref.name) ? 0 : undefined);
}

/** The value of the first candidate that is exported. */
export function firstPresent(scrape: Scrape, refs: readonly MetricRef[]): number | undefined {
  for (const ref of refs) {
    const v = metricValue(scrape, ref);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The sum of every candidate that is exported (error counters are additive). */
export function sumPresent(scrape: Scrape, refs: readonly MetricRef[]): number | undefined {
  let total: number | undefined;
  for (const ref of refs) {
    const v = metricValue(scrape, ref);
    if (v !== undefined) total = (total ?? 0) + v;
  }
  return total;
}

function byLabel(samples: readonly Sample[], refs: readonly MetricRef[], label: string): Record<string, number> | undefined {
  for (const ref of refs) {
    const out: Record<string, number> = {};
    let found = false;
    for (const s of samples) {
      if (s.name !== ref.name || Number.isNaN(s.value)) continue;
      if (Object.entries(ref.exclude ?? {}).some(([k, v]) => s.labels[k] === v)) continue;
      const key = s.labels[label];
      if (key === undefined) continue;
      found = true;
      out[key] = (out[key] ?? 0) + s.value;
    }
    if (found) return out;
  }
  return undefined;
}

/**
 * Figures of one process. `earlier` is an older scrape of the same process (a few seconds back
 * smooths the rate); a counter that went down means the process restarted, so the rate counts
 * from zero.
 */
export function componentStats(names: ComponentMetricNames, current: Scrape, earlier?: Scrape): ComponentStats {
  const stats: ComponentStats = {};
  const total = firstPresent(current, names.throughput);
  if (total !== undefined) {
    stats.total = total;
    if (earlier && current.atMs > earlier.atMs) {
      const before = firstPresent(earlier, names.throughput) ?? 0;
      const delta = total >= before ? total - before : total;
      stats.rate = (delta * 1000) / (current.atMs - earlier.atMs);
    }
  }
  const lag = firstPresent(current, names.lag);
  if (lag !== undefined) stats.lag = lag;
  const rows = firstPresent(current, names.rows);
  if (rows !== undefined) stats.rows = rows;
  if (names.rowsTableLabel) {
    const tables = byLabel(current.samples, names.rows, names.rowsTableLabel);
    if (tables) stats.rowsByTable = tables;
  }
  const errors = sumPresent(current, names.errors);
  if (errors !== undefined) stats.errors = errors;
  return stats;
}

/** Rows and errors of earlier runs of a process: its counters restart from zero with each run. */
export interface Carried {
  rows?: number;
  rowsByTable: Record<string, number>;
  errors?: number;
}

const addTo = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);

/** The figures of a process across its runs: this run's counters plus what earlier runs wrote. */
export function withCarried(stats: ComponentStats, carried: Carried): ComponentStats {
  const out: ComponentStats = { ...stats };
  const rows = addTo(stats.rows, carried.rows);
  if (rows !== undefined) out.rows = rows;
  const errors = addTo(stats.errors, carried.errors);
  if (errors !== undefined) out.errors = errors;
  if (stats.rowsByTable || Object.keys(carried.rowsByTable).length > 0) {
    const tables: Record<string, number> = { ...carried.rowsByTable };
    for (const [t, n] of Object.entries(stats.rowsByTable ?? {})) tables[t] = (tables[t] ?? 0) + n;
    out.rowsByTable = tables;
  }
  return out;
}

/** Rows written per table, summed over processes. */
export function totalRowsByTable(stats: readonly ComponentStats[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of stats) {
    for (const [t, n] of Object.entries(s.rowsByTable ?? {})) out[t] = (out[t] ?? 0) + n;
  }
  return out;
}
