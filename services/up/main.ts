// `stockify up -f feed.yaml`: standalone mode. Runs the processes the operator would deploy for a
// MarketFeed (same builders, same args and env) as local children against your Kafka, PostgreSQL
// and Redis, and shows them live until Ctrl-C or --duration.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pino } from 'pino';
import type { MarketFeed } from '../../operator/crd/types.ts';
import { standaloneProcesses } from '../../operator/desired/index.ts';
import { createLogger } from '../core/log.ts';
import { TABLES } from '../storage/tables.ts';
import { FeedError, readFeedFile } from './feed.ts';
import { LiveRun, type RunOutcome } from './live.ts';
import { DEFAULT_GRPC_PORT, parseUpOptions, type UpOptions } from './options.ts';
import { type GatewayPlan, PlanError, type ProcessPlan, planGateway, planProcesses } from './plan.ts';
import { freePorts, portIsFree } from './ports.ts';
import { withLocalPorts } from './processes.ts';
import { totalRowsByTable } from './stats.ts';
import { stopSummary } from './summary.ts';
import { createTopics } from './topics.ts';

const LOG_DIR = join('.local', 'logs');
/** Where `stockify up` serves the gateway of spec.gateway unless GATEWAY_PORT says (any free port when taken). */
const DEFAULT_GATEWAY_PORT = 8080;

function fail(message: string, code = 2): number {
  process.stderr.write(`stockify up: ${message}\n`);
  return code;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseUpOptions(args, process.env);
  if (!parsed.ok) return parsed.exitCode;
  const { file, grpcPort, env } = parsed.options;

  let planned: ReturnType<typeof planRun>;
  try {
    planned = planRun(file);
  } catch (err) {
    if (err instanceof FeedError || err instanceof PlanError) return fail(err.message);
    throw err;
  }
  const { feed, plans, stateDir } = planned;
  const name = feed.metadata.name;

  if (grpcPort !== 0 && !(await portIsFree(grpcPort))) {
    return fail(`port ${grpcPort} is in use (another \`stockify up\`?): pass --grpc-port <port>, or 0 for any free port`);
  }
  const processes = await withLocalPorts(plans, grpcPort);
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(LOG_DIR, { recursive: true });
  for (const p of processes) writeFileSync(p.plan.shardFile.path, p.plan.shardFile.content);
  const log = createLogger({
    component: 'up',
    base: { feed: name },
    destination: pino.destination({ dest: join(LOG_DIR, `${name}-up.log`), append: true, sync: true }),
  });

  try {
    await createTopics(feed, env.KAFKA_BROKERS ?? [], log);
  } catch (err) {
    const brokers = env.KAFKA_BROKERS?.join(',');
    return fail(`cannot create the topics of ${name} on Kafka ${brokers}: ${(err as Error).message}`, 1);
  }

  let gateway: GatewayPlan | undefined;
  try {
    const wanted = Number(process.env.GATEWAY_PORT) || DEFAULT_GATEWAY_PORT;
    const httpPort = (await portIsFree(wanted)) ? wanted : ((await freePorts(1))[0] ?? 0);
    const grpcEndpoints = [...processes]
      .sort((a, b) => Number(b.plan.component === 'storage') - Number(a.plan.component === 'storage'))
      .map((p) => `127.0.0.1:${p.grpcPort}`);
    gateway = planGateway(feed, { feed: name, env: process.env, stateDir, logDir: LOG_DIR }, { grpcEndpoints, httpPort });
  } catch (err) {
    if (err instanceof PlanError) return fail(err.message);
    throw err;
  }
  const live = new LiveRun({ feed, processes, logDir: LOG_DIR, ...durationOf(parsed.options), ...(gateway ? { gateway } : {}) });
  process.stdout.write(stopSummary(summaryOf(await live.run(), parsed.options, processes.length)));
  return 0;
}

/** The feed of `file` and its processes; throws FeedError or PlanError naming the problem. */
function planRun(file: string): { feed: MarketFeed; plans: ProcessPlan[]; stateDir: string } {
  const feed = readFeedFile(file);
  const name = feed.metadata.name;
  const stateDir = join('.local', 'up', name);
  const plans = planProcesses(standaloneProcesses(feed), { feed: name, env: process.env, stateDir, logDir: LOG_DIR });
  return { feed, plans, stateDir };
}

const durationOf = (o: UpOptions): { durationS?: number } => (o.durationS === undefined ? {} : { durationS: o.durationS });

function summaryOf(outcome: RunOutcome, options: UpOptions, processes: number): Parameters<typeof stopSummary>[0] {
  const { final, killed, watched, grpcEndpoint } = outcome;
  const { env } = options;
  return {
    feed: final.feed,
    ranMs: Date.now() - final.startedAtMs,
    processes,
    restarts: final.processes.reduce((n, p) => n + p.restarts, 0),
    killed,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    dbSchema: env.DB_SCHEMA,
    tables: TABLES,
    rowsByTable: totalRowsByTable(final.processes.map((p) => p.stats)),
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    logFiles: `${relative('.', LOG_DIR) || '.'}/${final.feed}-*.log`,
    ...(watched.chain ? { chainSymbol: watched.chain.symbol } : {}),
    levelIds: watched.levels.map((l) => l.instrumentId),
    ...(options.grpcPort === DEFAULT_GRPC_PORT ? {} : { queryEndpoint: grpcEndpoint }),
  };
}
