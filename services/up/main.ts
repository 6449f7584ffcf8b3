// `stockify up -f feed.yaml`: standalone mode. Runs the processes the operator would deploy for a
// MarketFeed (same builders, same args and env) as local children against your Kafka, PostgreSQL
// and Redis, and shows them live until Ctrl-C or --duration.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { feedTopics } from '../../operator/controller/topics.ts';
import { standaloneProcesses } from '../../operator/desired/index.ts';
import { parseCommand } from '../core/cli.ts';
import { createKafka, ensureTopics } from '../core/kafka.ts';
import { createLogger, type Logger } from '../core/log.ts';
import type { Snapshot } from '../core/messages.ts';
import { TABLES } from '../storage/tables.ts';
import { chainExcerpt } from './excerpt.ts';
import { FeedError, loadFeed } from './feed.ts';
import { MarketDataClient } from './market.ts';
import { METRIC_NAMES } from './metric-names.ts';
import { PlanError, type ProcessPlan, planProcesses, watchedInstruments, withPorts } from './plan.ts';
import { freePorts, portIsFree } from './ports.ts';
import { type ScrapeResult, scrapeProcess } from './scraper.ts';
import { type Carried, componentStats, type Scrape, withCarried } from './stats.ts';
import { stopSummary } from './summary.ts';
import { type ChildStatus, Supervisor } from './supervisor.ts';
import { frame, type IndexLevel, type ProcessPhase, type ProcessRow, renderView, statusLine, type ViewState } from './view.ts';

const USAGE = `Usage: stockify up -f <feed.yaml> [--duration <seconds>] [--grpc-port <port>]

Runs a MarketFeed in standalone mode: for every shard the ingestion, processor and storage
processes the operator would deploy (the same args and environment), as local processes against
your own Kafka, PostgreSQL and Redis, with a live view of throughput, lag, rows, index levels and
the option chain. Ctrl-C stops every process cleanly and prints where the data is.

Options:
  -f, --file <path>        the MarketFeed YAML (one MarketFeed)
  --duration <seconds>     stop by itself after this long
  --grpc-port <port>       MarketData gRPC port of storage shard 0, where \`stockify query\` looks
                           (default 50051; 0 = any free port)
  -h, --help               this help

Environment:
  KAFKA_BROKERS, DATABASE_URL, REDIS_URL   the services to run against (they replace the
                                           MarketFeed's endpoints; \`make run\` sets them)
  DB_SCHEMA                                PostgreSQL schema of the tables (default public)
  DHAN_CLIENT_ID, DHAN_ACCESS_TOKEN        for source dhan (from a Secret in a cluster)

Each process gets its own METRICS_PORT and GRPC_PORT; shard files go to .local/up/<feed>/ and logs
to .local/logs/<feed>-<component>-<shard>.log. A process that dies is restarted with back-off, as a
Deployment would. When stdout is not a terminal a status line is printed every few seconds instead
of the full-screen view. Exit: 0 after a clean stop, 2 for a bad file or missing configuration.`;

const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const REFRESH_MS = 1_000;
const STATUS_LINE_MS = 5_000;
/** Rates are measured over about this window, for a steady figure. */
const RATE_WINDOW_MS = 5_000;
const STOP_GRACE_MS = 25_000;
const DEFAULT_GRPC_PORT = 50051;

interface Running {
  plan: ProcessPlan;
  metricsPort: number;
  grpcPort: number;
  scrapes: Scrape[];
  lastReady?: boolean;
  pid?: number;
  /** Rows and errors of earlier runs of this process (its counters restart from zero). */
  carried: Carried;
}

async function createTopics(feed: ReturnType<typeof loadFeed>, brokers: string, log: Logger): Promise<void> {
  const kafka = createKafka(brokers.split(','), 'stockify-up', log, {
    connectionTimeout: 3_000,
    retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { created, grown } = await ensureTopics(admin, feedTopics(feed));
    log.info({ created, grown }, 'topics ready');
  } finally {
    await admin.disconnect();
  }
}

function fail(message: string, code = 2): number {
  process.stderr.write(`stockify up: ${message}\n`);
  return code;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    usage: USAGE,
    options: { file: { type: 'string', short: 'f' }, duration: { type: 'string' }, 'grpc-port': { type: 'string' } },
  });
  if (!parsed.ok) return parsed.exitCode;
  const { file, duration, 'grpc-port': grpcPortText } = parsed.parsed.values;
  if (parsed.parsed.positionals.length > 0) return fail(`unexpected argument ${parsed.parsed.positionals[0]}\n\n${USAGE}`);
  if (!file) return fail(`-f <feed.yaml> is required\n\n${USAGE}`);
  const durationS = duration === undefined ? undefined : Number(duration);
  if (durationS !== undefined && !(Number.isFinite(durationS) && durationS > 0)) {
    return fail(`--duration must be a positive number of seconds, got ${JSON.stringify(duration)}`);
  }
  const grpcPort = grpcPortText === undefined ? DEFAULT_GRPC_PORT : Number(grpcPortText);
  if (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535) {
    return fail(`--grpc-port must be a port number (0 = any free port), got ${JSON.stringify(grpcPortText)}`);
  }

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(`cannot read ${file}: ${(err as Error).message}`);
  }
  let feed: ReturnType<typeof loadFeed>;
  try {
    feed = loadFeed(text);
  } catch (err) {
    if (err instanceof FeedError) return fail(`${file}: ${err.message}`);
    throw err;
  }
  const name = feed.metadata.name;
  const stateDir = join('.local', 'up', name);
  const logDir = join('.local', 'logs');
  let plans: ProcessPlan[];
  try {
    plans = planProcesses(standaloneProcesses(feed), { feed: name, env: process.env, stateDir, logDir });
  } catch (err) {
    if (err instanceof PlanError) return fail(err.message);
    throw err;
  }

  // Ports: storage shard 0 serves MarketData where `stockify query` looks by default.
  const storage0 = plans.findIndex((p) => p.component === 'storage');
  if (grpcPort !== 0 && !(await portIsFree(grpcPort))) {
    return fail(`port ${grpcPort} is in use (another \`stockify up\`?): pass --grpc-port <port>, or 0 for any free port`);
  }
  const free = await freePorts(plans.length * 2);
  const running: Running[] = plans.map((plan, i) => {
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

  mkdirSync(stateDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  for (const r of running) writeFileSync(r.plan.shardFile.path, r.plan.shardFile.content);
  const log = createLogger({
    component: 'up',
    base: { feed: name },
    destination: pino.destination({ dest: join(logDir, `${name}-up.log`), append: true, sync: true }),
  });

  // The topics, as the operator creates them before any pod starts (auto-creation is off).
  try {
    await createTopics(feed, process.env.KAFKA_BROKERS ?? '', log);
  } catch (err) {
    return fail(`cannot create the topics of ${name} on Kafka ${process.env.KAFKA_BROKERS}: ${(err as Error).message}`, 1);
  }

  const supervisor = new Supervisor(
    running.map((r) => ({
      name: r.plan.name,
      command: process.execPath,
      args: [CLI, ...r.plan.args],
      env: r.plan.env,
      logFile: r.plan.logFile,
    })),
  );
  const storageEndpoints = running.filter((r) => r.plan.component === 'storage').map((r) => `127.0.0.1:${r.grpcPort}`);
  const grpcEndpoint = storageEndpoints[0] ?? '-';
  const watched = watchedInstruments(feed.spec.instruments);
  const isTty = process.stdout.isTTY === true;
  const startedAtMs = Date.now();
  const stopAtMs = durationS === undefined ? undefined : startedAtMs + durationS * 1000;

  let indices: IndexLevel[] = watched.levels.map((l) => ({ ...l }));
  let chain: ViewState['chain'];
  let marketError: string | undefined;
  let stopping = false;

  const phaseOf = (r: Running, s: ChildStatus | undefined): ProcessPhase => {
    switch (s?.phase) {
      case 'backoff':
        return 'backoff';
      case 'stopping':
        return 'stopping';
      case 'stopped':
      case undefined:
        return 'stopped';
      case 'running':
        return r.lastReady === undefined ? 'starting' : r.lastReady ? 'ready' : 'not ready';
    }
  };

  const viewState = (): ViewState => {
    const statuses = new Map(supervisor.status().map((s) => [s.name, s]));
    const processes: ProcessRow[] = running.map((r) => {
      const s = statuses.get(r.plan.name);
      const names = METRIC_NAMES[r.plan.component];
      const current = r.scrapes.at(-1);
      const earlier = r.scrapes.find((x) => current && current.atMs - x.atMs <= RATE_WINDOW_MS + 500 && x !== current);
      const stats = withCarried(current ? componentStats(names, current, earlier) : {}, r.carried);
      if (s?.phase !== 'running') delete stats.rate;
      return {
        name: r.plan.name,
        component: r.plan.component,
        shard: r.plan.shard,
        phase: phaseOf(r, s),
        ...(s?.pid === undefined ? {} : { pid: s.pid }),
        restarts: s?.restarts ?? 0,
        ...(s?.lastExit ? { lastExit: s.lastExit } : {}),
        ...(s?.restartAtMs === undefined ? {} : { restartAtMs: s.restartAtMs }),
        stats,
        unit: names.throughputUnit,
      };
    });
    return {
      feed: name,
      namespace: feed.metadata.namespace,
      source: feed.spec.source.type,
      shards: feed.spec.shards,
      startedAtMs,
      nowMs: Date.now(),
      ...(stopAtMs === undefined ? {} : { stopAtMs }),
      stopping,
      processes,
      indices,
      ...(watched.chain ? { chainSymbol: watched.chain.symbol } : {}),
      ...(chain ? { chain } : {}),
      ...(marketError ? { marketError } : {}),
      grpcEndpoint,
      logDir,
      timeZone: feed.spec.schedule?.timezone ?? 'Asia/Kolkata',
    };
  };

  const scrapeAll = async (): Promise<void> => {
    const statuses = new Map(supervisor.status().map((s) => [s.name, s]));
    await Promise.all(
      running.map(async (r) => {
        const s = statuses.get(r.plan.name);
        if (s?.pid !== r.pid) {
          if (s?.pid !== undefined) {
            // A new run: its counters start again from zero; keep what the last run wrote.
            const last = r.scrapes.at(-1);
            if (last) {
              const merged = withCarried(componentStats(METRIC_NAMES[r.plan.component], last), r.carried);
              r.carried = {
                ...(merged.rows === undefined ? {} : { rows: merged.rows }),
                ...(merged.errors === undefined ? {} : { errors: merged.errors }),
                rowsByTable: { ...merged.rowsByTable },
              };
            }
            r.scrapes = [];
          }
          r.pid = s?.pid;
          delete r.lastReady;
        }
        if (s?.phase !== 'running') return;
        const result: ScrapeResult = await scrapeProcess(r.metricsPort);
        if (result.ready !== undefined) r.lastReady = result.ready;
        if (result.samples) {
          r.scrapes.push({
            atMs: result.atMs,
            samples: result.samples,
            ...(result.declared ? { declared: result.declared } : {}),
          });
          while (r.scrapes.length > 0 && result.atMs - (r.scrapes[0]?.atMs ?? 0) > RATE_WINDOW_MS + 1_500) r.scrapes.shift();
        }
      }),
    );
  };

  const clients = storageEndpoints.map((e) => new MarketDataClient(e));
  const readMarket = async (): Promise<void> => {
    const errors: string[] = [];
    for (const client of clients) {
      try {
        const snapshots = await client.latest(watched.levels.map((l) => l.instrumentId));
        const byId = new Map<string, Snapshot>(snapshots.map((s) => [s.instrumentId, s]));
        indices = watched.levels.map((l) => {
          const snap = byId.get(l.instrumentId);
          const tick = snap?.payload === 'tick' ? snap.tick : undefined;
          return tick
            ? { ...l, price: tick.lastPrice, previousClose: tick.close, timeMs: tick.exchangeTimeMs }
            : { ...l, ...(snap?.payload === 'optionQuote' ? { price: snap.optionQuote.price, timeMs: snap.timeMs } : {}) };
        });
        if (watched.chain) {
          try {
            chain = chainExcerpt(await client.optionChain(watched.chain.instrumentId), 6);
          } catch (err) {
            // No snapshot stored yet is normal in the first seconds; keep the last one shown.
            if (!/NOT_FOUND|not found|no option chain/i.test((err as Error).message)) throw err;
          }
        }
        marketError = undefined;
        return;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    // gRPC details run on ("No connection established. Last error: …"): the first sentence says it.
    marketError = errors[0]?.split('. ')[0];
  };

  // Terminal: alternate screen, hidden cursor; restored however we leave.
  const restoreTerminal = (): void => {
    if (isTty) process.stdout.write('\x1b[?25h\x1b[?1049l');
  };
  const onExit = (): void => {
    supervisor.killAll();
    restoreTerminal();
  };
  process.once('exit', onExit);

  const draw = (): void => {
    if (!isTty) return;
    const lines = renderView(viewState(), {
      width: process.stdout.columns || 120,
      height: process.stdout.rows || 40,
      color: true,
    });
    process.stdout.write(frame(lines));
  };

  if (isTty) process.stdout.write('\x1b[?1049h\x1b[?25l');
  else {
    process.stdout.write(
      `stockify up: ${name}: starting ${running.length} processes (${feed.spec.shards} shards); MarketData gRPC on ${grpcEndpoint}; logs in ${logDir}/${name}-*.log\n`,
    );
  }
  supervisor.start();
  draw();

  let lastStatusLine = 0;
  let ticking = false;
  const tick = async (): Promise<void> => {
    if (ticking || stopping) return;
    ticking = true;
    try {
      await Promise.all([scrapeAll(), readMarket()]);
      if (stopping) return;
      if (isTty) draw();
      else if (Date.now() - lastStatusLine >= STATUS_LINE_MS) {
        lastStatusLine = Date.now();
        process.stdout.write(`${statusLine(viewState())}\n`);
      }
    } finally {
      ticking = false;
    }
  };
  const interval = setInterval(() => void tick(), REFRESH_MS);
  const onResize = (): void => draw();
  if (isTty) process.stdout.on('resize', onResize);

  const reason = await new Promise<string>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => resolve(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    if (stopAtMs !== undefined) setTimeout(() => resolve('duration'), stopAtMs - startedAtMs).unref();
  });

  // Stop: a second Ctrl-C kills at once.
  stopping = true;
  clearInterval(interval);
  const hardStop = (): void => {
    supervisor.killAll();
    restoreTerminal();
    process.stderr.write('stockify up: killed every process\n');
    process.exit(130);
  };
  process.once('SIGINT', hardStop);
  process.once('SIGTERM', hardStop);
  if (!isTty)
    process.stdout.write(`stockify up: stopping (${reason === 'duration' ? `--duration ${durationS}s reached` : reason})\n`);
  draw();
  const redraw = setInterval(draw, REFRESH_MS);
  const killed = await supervisor.stop(STOP_GRACE_MS);
  clearInterval(redraw);
  process.stdout.off('resize', onResize);
  process.off('SIGINT', hardStop);
  process.off('SIGTERM', hardStop);
  for (const c of clients) c.close();
  restoreTerminal();
  process.off('exit', onExit);

  const final = viewState();
  const rowsByTable: Record<string, number> = {};
  for (const p of final.processes)
    for (const [t, n] of Object.entries(p.stats.rowsByTable ?? {})) rowsByTable[t] = (rowsByTable[t] ?? 0) + n;
  process.stdout.write(
    stopSummary({
      feed: name,
      ranMs: Date.now() - startedAtMs,
      processes: running.length,
      restarts: final.processes.reduce((n, p) => n + p.restarts, 0),
      killed,
      ...(process.env.DATABASE_URL ? { databaseUrl: process.env.DATABASE_URL } : {}),
      dbSchema: process.env.DB_SCHEMA || 'public',
      tables: TABLES,
      rowsByTable,
      ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
      logFiles: `${relative('.', logDir) || '.'}/${name}-*.log`,
      ...(watched.chain ? { chainSymbol: watched.chain.symbol } : {}),
      levelIds: watched.levels.map((l) => l.instrumentId),
      ...(grpcPort === DEFAULT_GRPC_PORT ? {} : { queryEndpoint: grpcEndpoint }),
    }),
  );
  return 0;
}
