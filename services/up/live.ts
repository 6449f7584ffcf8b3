// One run of `stockify up` from start to stop: the supervised processes, the live view refreshed
// every second, and the stop — on Ctrl-C, SIGTERM or --duration — with a second Ctrl-C killing at once.
import { fileURLToPath } from 'node:url';
import type { MarketFeed } from '../../operator/crd/types.ts';
import { EXCHANGE_TIME_ZONE } from '../core/market-time.ts';
import { type GatewayPlan, watchedInstruments } from './plan.ts';
import { type LocalProcess, processRow, refreshProcess } from './processes.ts';
import { Screen } from './screen.ts';
import { Supervisor } from './supervisor.ts';
import type { ViewState } from './view.ts';
import { MarketWatch } from './watch.ts';

const CLI = fileURLToPath(new URL('../stockify.js', import.meta.url));
const REFRESH_MS = 1_000;
const STOP_GRACE_MS = 25_000;

export interface LiveRunOptions {
  feed: MarketFeed;
  processes: LocalProcess[];
  logDir: string;
  durationS?: number;
  /** spec.gateway run locally: supervised with the shard processes, shown by its URL. */
  gateway?: GatewayPlan;
}

export interface RunOutcome {
  /** The view as the run ended. */
  final: ViewState;
  /** Processes that ignored SIGTERM and were killed. */
  killed: string[];
  grpcEndpoint: string;
  watched: ReturnType<typeof watchedInstruments>;
}

export class LiveRun {
  private readonly opts: LiveRunOptions;
  private readonly supervisor: Supervisor;
  private readonly watch: MarketWatch;
  private readonly screen = new Screen(() => this.viewState());
  private readonly watched: ReturnType<typeof watchedInstruments>;
  private readonly grpcEndpoint: string;
  private readonly startedAtMs = Date.now();
  private readonly stopAtMs: number | undefined;
  private stopping = false;
  private ticking = false;
  private readonly onExit = (): void => {
    this.supervisor.killAll();
    this.screen.restore();
  };

  constructor(opts: LiveRunOptions) {
    this.opts = opts;
    const gateway = opts.gateway;
    this.supervisor = new Supervisor([
      ...opts.processes.map((p) => ({
        name: p.plan.name,
        command: process.execPath,
        args: [CLI, ...p.plan.args],
        env: p.plan.env,
        logFile: p.plan.logFile,
      })),
      ...(gateway ? [{ ...gateway, command: process.execPath, args: [CLI, ...gateway.args] }] : []),
    ]);
    const storage = opts.processes.filter((p) => p.plan.component === 'storage').map((p) => `127.0.0.1:${p.grpcPort}`);
    this.grpcEndpoint = storage[0] ?? '-';
    this.watched = watchedInstruments(opts.feed.spec.instruments);
    this.watch = new MarketWatch(storage, this.watched);
    this.stopAtMs = opts.durationS === undefined ? undefined : this.startedAtMs + opts.durationS * 1000;
  }

  viewState(): ViewState {
    const { feed, processes, logDir } = this.opts;
    const statuses = new Map(this.supervisor.status().map((s) => [s.name, s]));
    return {
      feed: feed.metadata.name,
      namespace: feed.metadata.namespace,
      source: feed.spec.source.type,
      shards: feed.spec.shards,
      startedAtMs: this.startedAtMs,
      nowMs: Date.now(),
      ...(this.stopAtMs === undefined ? {} : { stopAtMs: this.stopAtMs }),
      stopping: this.stopping,
      processes: processes.map((p) => processRow(p, statuses.get(p.plan.name))),
      indices: this.watch.indices,
      ...(this.watched.chain ? { chainSymbol: this.watched.chain.symbol } : {}),
      ...(this.watch.chain ? { chain: this.watch.chain } : {}),
      ...(this.watch.error ? { marketError: this.watch.error } : {}),
      grpcEndpoint: this.grpcEndpoint,
      ...(this.opts.gateway ? { gatewayUrl: this.opts.gateway.url } : {}),
      logDir,
      timeZone: feed.spec.schedule?.timezone ?? EXCHANGE_TIME_ZONE,
    };
  }

  /** Starts every process and shows them until a signal or --duration; then stops them all. */
  async run(): Promise<RunOutcome> {
    const { feed, processes, logDir } = this.opts;
    const name = feed.metadata.name;
    process.once('exit', this.onExit);
    this.screen.enter(
      `stockify up: ${name}: starting ${processes.length} processes (${feed.spec.shards} shards); MarketData gRPC on ${this.grpcEndpoint}${this.opts.gateway ? `; gateway ${this.opts.gateway.url}` : ''}; logs in ${logDir}/${name}-*.log`,
    );
    this.supervisor.start();
    this.screen.draw();
    const interval = setInterval(() => void this.tick(), REFRESH_MS);
    const reason = await this.stopRequested();
    clearInterval(interval);
    const killed = await this.stop(reason);
    return { final: this.viewState(), killed, grpcEndpoint: this.grpcEndpoint, watched: this.watched };
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      const statuses = new Map(this.supervisor.status().map((s) => [s.name, s]));
      const scrapes = this.opts.processes.map((p) => refreshProcess(p, statuses.get(p.plan.name)));
      await Promise.all([...scrapes, this.watch.refresh()]);
      if (!this.stopping) this.screen.update();
    } finally {
      this.ticking = false;
    }
  }

  /** Resolves with the signal's name, or 'duration' when --duration is reached. */
  private stopRequested(): Promise<string> {
    return new Promise<string>((resolve) => {
      const onSignal = (sig: NodeJS.Signals): void => resolve(sig);
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      if (this.stopAtMs !== undefined) setTimeout(() => resolve('duration'), this.stopAtMs - this.startedAtMs).unref();
    });
  }

  /** SIGTERM to every process, SIGKILL after the grace period; a second Ctrl-C kills at once. */
  private async stop(reason: string): Promise<string[]> {
    this.stopping = true;
    const hardStop = (): void => {
      this.supervisor.killAll();
      this.screen.restore();
      process.stderr.write('stockify up: killed every process\n');
      process.exit(130);
    };
    process.once('SIGINT', hardStop);
    process.once('SIGTERM', hardStop);
    this.screen.note(`stockify up: stopping (${reason === 'duration' ? `--duration ${this.opts.durationS}s reached` : reason})`);
    this.screen.draw();
    const redraw = setInterval(() => this.screen.draw(), REFRESH_MS);
    const killed = await this.supervisor.stop(STOP_GRACE_MS);
    clearInterval(redraw);
    process.off('SIGINT', hardStop);
    process.off('SIGTERM', hardStop);
    this.watch.close();
    this.screen.restore();
    process.off('exit', this.onExit);
    return killed;
  }
}
