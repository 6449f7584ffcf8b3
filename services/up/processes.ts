// The local processes of a run as the live view knows them: each plan with its own ports, the last
// few scrapes of its metrics, and what earlier runs of it wrote (its counters restart from zero).
import { METRIC_NAMES } from './metric-names.ts';
import type { ProcessPlan } from './plan.ts';
import { withPorts } from './plan.ts';
import { freePorts } from './ports.ts';
import { scrapeProcess } from './scraper.ts';
import { type Carried, componentStats, type Scrape, withCarried } from './stats.ts';
import type { ChildStatus } from './supervisor.ts';
import type { ProcessPhase, ProcessRow } from './view.ts';

/** Rates are measured over about this window, for a steady figure. */
const RATE_WINDOW_MS = 5_000;

export interface LocalProcess {
  plan: ProcessPlan;
  metricsPort: number;
  grpcPort: number;
  scrapes: Scrape[];
  lastReady?: boolean;
  pid?: number;
  /** Rows and errors of earlier runs of this process. */
  carried: Carried;
}

/**
 * The plans with a METRICS_PORT and GRPC_PORT each; storage shard 0 serves MarketData on `grpcPort`
 * (where `stockify query` looks) unless it is 0.
 */
export async function withLocalPorts(plans: readonly ProcessPlan[], grpcPort: number): Promise<LocalProcess[]> {
  const storage0 = plans.findIndex((p) => p.component === 'storage');
  const free = await freePorts(plans.length * 2);
  return plans.map((plan, i) => {
    const metricsPort = free[2 * i] ?? 0;
    const ownGrpc = i === storage0 && grpcPort !== 0 ? grpcPort : (free[2 * i + 1] ?? 0);
    return {
      plan: withPorts(plan, { metrics: metricsPort, grpc: ownGrpc }),
      metricsPort,
      grpcPort: ownGrpc,
      scrapes: [],
      carried: { rowsByTable: {} },
    };
  });
}

function phaseOf(p: LocalProcess, s: ChildStatus | undefined): ProcessPhase {
  switch (s?.phase) {
    case 'backoff':
      return 'backoff';
    case 'stopping':
      return 'stopping';
    case 'stopped':
    case undefined:
      return 'stopped';
    case 'running':
      return p.lastReady === undefined ? 'starting' : p.lastReady ? 'ready' : 'not ready';
  }
}

/** The process's line in the view: its phase, restarts and figures across its runs. */
export function processRow(p: LocalProcess, s: ChildStatus | undefined): ProcessRow {
  const names = METRIC_NAMES[p.plan.component];
  const current = p.scrapes.at(-1);
  const earlier = p.scrapes.find((x) => current && current.atMs - x.atMs <= RATE_WINDOW_MS + 500 && x !== current);
  const stats = withCarried(current ? componentStats(names, current, earlier) : {}, p.carried);
  if (s?.phase !== 'running') delete stats.rate;
  return {
    name: p.plan.name,
    component: p.plan.component,
    shard: p.plan.shard,
    phase: phaseOf(p, s),
    ...(s?.pid === undefined ? {} : { pid: s.pid }),
    restarts: s?.restarts ?? 0,
    ...(s?.lastExit ? { lastExit: s.lastExit } : {}),
    ...(s?.restartAtMs === undefined ? {} : { restartAtMs: s.restartAtMs }),
    stats,
    unit: names.throughputUnit,
  };
}

/** A new run (another pid): keep what the last run wrote, start its scrapes afresh. */
function noteRun(p: LocalProcess, s: ChildStatus | undefined): void {
  if (s?.pid === p.pid) return;
  const last = p.scrapes.at(-1);
  if (s?.pid !== undefined && last) {
    const merged = withCarried(componentStats(METRIC_NAMES[p.plan.component], last), p.carried);
    p.carried = {
      ...(merged.rows === undefined ? {} : { rows: merged.rows }),
      ...(merged.errors === undefined ? {} : { errors: merged.errors }),
      rowsByTable: { ...merged.rowsByTable },
    };
  }
  if (s?.pid !== undefined) p.scrapes = [];
  p.pid = s?.pid;
  delete p.lastReady;
}

/** Scrapes a running process's /metrics and /readyz, keeping about one rate window of scrapes. */
export async function refreshProcess(p: LocalProcess, s: ChildStatus | undefined): Promise<void> {
  noteRun(p, s);
  if (s?.phase !== 'running') return;
  const result = await scrapeProcess(p.metricsPort);
  if (result.ready !== undefined) p.lastReady = result.ready;
  if (!result.samples) return;
  p.scrapes.push({ atMs: result.atMs, samples: result.samples, ...(result.declared ? { declared: result.declared } : {}) });
  while (p.scrapes.length > 0 && result.atMs - (p.scrapes[0]?.atMs ?? 0) > RATE_WINDOW_MS + 1_500) p.scrapes.shift();
}
