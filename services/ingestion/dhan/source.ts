// The Dhan v2 source: live market feed over WebSocket (JSON subscribe, binary responses) plus the
// option-chain REST poller (chain-poller.ts).
//
// Connections: exactly those of the shard's share of its Dhan account (budget.ts: the operator
// plans one budget per credentials Secret across all shards, operator/desired/dhan-budget.ts),
// each subscribed in messages of at most 100. A planned connection may carry instruments of shards
// that hold none: their records (option ticks are keyed by their underlying) go to their home
// shard's raw topic. REST chains are polled by each underlying's home shard, in its chain slots.
// A dropped connection reconnects with jittered exponential back-off (policies.ts). An expired or invalid token
// (disconnect reason 807/808/809, or HTTP 401 on the upgrade or the REST API) is not retried: the
// state becomes EXPIRED_TOKEN (one error line, a metric), and the process keeps serving health,
// metrics and status so that operators and alerts see it.
//
// Back-pressure: when the publisher's buffer is full the socket is paused (TCP flow control holds
// the data at Dhan) and resumed at the low-water mark; packets already received are kept. Nothing
// is dropped on our side; if Dhan gives up on a slow reader, we reconnect.
import WebSocket from 'ws';
import { DHAN_LIMITS, USABLE_CONNECTIONS } from '../../../operator/desired/dhan-budget.ts';
import { Backoff } from '../../core/backoff.ts';
import type { Logger } from '../../core/log.ts';
import { instrumentId, type Segment } from '../../core/messages.ts';
import type { IngestionMetrics } from '../metrics.ts';
import { type ConnectionState, type Sink, type Source, sleepUnlessAborted } from '../source.ts';
import type { ChainSlots, DhanShardPlan, PlannedInstrument } from './budget.ts';
import { pollChains } from './chain-poller.ts';
import { subscribeMessages } from './feed-requests.ts';
import { splitMessage } from './framing.ts';
import { istToday, type LiveChain, OptionFeed, optionLanes } from './option-feed.ts';
import type { ChainUnderlying } from './optionchain.ts';
import { isAuthDisconnect, reconnectPolicy } from './policies.ts';
import type { ScripMaster } from './scrip-master.ts';
import { DhanState } from './state.ts';

export { MAX_PER_MESSAGE, REQUEST_CODES, subscribeMessages } from './feed-requests.ts';
export const MAX_PER_CONNECTION = DHAN_LIMITS.instrumentsPerConnection;

export interface DhanInstrument {
  segment: Segment;
  securityId: string;
  symbol: string;
}

export interface DhanSourceOptions {
  feedUrl: string;
  apiUrl: string;
  clientId: string;
  accessToken: string;
  mode: 'ticker' | 'quote' | 'full';
  /** What this shard may use of its account: its connections (with their instruments) and chain slots. */
  plan: DhanShardPlan;
  /** This shard's own underlyings with optionChain: their REST chains are polled here. */
  chains: readonly ChainUnderlying[];
  scripMaster?: ScripMaster;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  breakerFailures?: number;
  breakerCoolDownMs?: number;
  log: Logger;
  metrics: IngestionMetrics;
}

export class DhanSource implements Source {
  readonly name = 'dhan' as const;
  private readonly opts: DhanSourceOptions;
  private readonly connStates: ConnectionState[] = [];
  private expired = false;
  private readonly book: DhanState;
  private readonly symbols: Map<string, string>;
  /** Live option contracts of the underlyings with optionChain (set up by run()). */
  private options: OptionFeed | undefined;

  /** Instrument id → the shard whose raw topic gets its records (and its option contracts'). */
  private readonly homes = new Map<string, number>();

  constructor(opts: DhanSourceOptions) {
    this.opts = opts;
    const planned = opts.plan.connections.flatMap((c) => c.instruments);
    this.symbols = new Map(planned.map((i) => [instrumentId(i.segment, i.securityId), i.symbol]));
    for (const i of planned) this.homes.set(instrumentId(i.segment, i.securityId), i.home);
    this.book = new DhanState(this.symbols, (id) => this.options?.describe(id));
  }

  /** Contracts of live option windows subscribed now. */
  get optionContracts(): number {
    return this.options?.subscribed ?? 0;
  }

  /** Each connection's underlyings stream their option contracts in the room it has left. */
  private liveOptions(groups: readonly DhanInstrument[][]): OptionFeed | undefined {
    const { scripMaster, log } = this.opts;
    const chains = liveChains(this.opts.plan);
    if (chains.length === 0) return undefined;
    if (!scripMaster) {
      log.warn('no scrip master (--scrip-master): option contracts come from the REST chain only, not live');
      return undefined;
    }
    // Each connection's option contracts as the account's budget planned them (never above its room).
    const planned = this.opts.plan.connections.map((c) => c.instruments.reduce((n, i) => n + i.optionContracts, 0));
    const lanes = optionLanes(groups, chains, scripMaster, istToday(Date.now()), MAX_PER_CONNECTION, planned);
    return new OptionFeed(lanes, this.opts.mode, log.child({ part: 'options' }), this.opts.metrics);
  }

  state(): ConnectionState {
    if (this.expired) return 'EXPIRED_TOKEN';
    // A shard the plan gives no connection (another carries its instruments) has nothing to connect.
    if (this.opts.plan.connections.length === 0) return 'RUNNING';
    if (this.connStates.length === 0) return 'STARTING';
    if (this.connStates.every((s) => s === 'CONNECTED')) return 'CONNECTED';
    if (this.connStates.includes('RECONNECTING')) return 'RECONNECTING';
    return this.connStates[0] ?? 'STARTING';
  }

  private tokenExpired(detail: string): void {
    if (!this.expired) {
      this.opts.log.error(
        { detail },
        'Dhan access token expired or invalid: stopped reconnecting; renew DHAN_ACCESS_TOKEN and restart',
      );
    }
    this.expired = true;
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    const { plan } = this.opts;
    if (plan.unplaced.instruments > 0) {
      this.opts.log.error(
        { ...plan.unplaced, connections: USABLE_CONNECTIONS, perConnection: MAX_PER_CONNECTION },
        `more than one Dhan account carries: ${USABLE_CONNECTIONS} connections (5, one kept spare for handover) × ${MAX_PER_CONNECTION} instruments, option contracts included; the excess is not subscribed. More shards add no capacity on one account: follow fewer instruments, strikes or expiries, or split the feed over another Dhan account (credentials Secret)`,
      );
    }
    // Each connection's subscription set; the live option windows (option-feed.ts) change on top of it.
    const groups: DhanInstrument[][] = plan.connections.map((c) => [...c.instruments]);
    this.options = this.liveOptions(groups);
    const tasks = groups.map((g, i) => {
      this.connStates[i] = 'STARTING';
      return this.connection(i, g, sink, signal);
    });
    if (this.opts.chains.length > 0 && plan.chain) tasks.push(this.pollChains(plan.chain, sink, signal));
    await Promise.all(tasks);
  }

  private async connection(index: number, instruments: DhanInstrument[], sink: Sink, signal: AbortSignal): Promise<void> {
    const log = this.opts.log.child({ connection: index, slot: this.opts.plan.connections[index]?.slot });
    const backoff = new Backoff(reconnectPolicy(this.opts.reconnectBaseMs, this.opts.reconnectMaxMs));
    while (!signal.aborted && !this.expired) {
      const outcome = await this.connectOnce(index, instruments, sink, signal, log);
      if (signal.aborted || this.expired) break;
      // A connection that got as far as open starts the back-off over.
      if (outcome === 'connected') backoff.reset();
      this.connStates[index] = 'RECONNECTING';
      this.opts.metrics.reconnects.inc({ source: 'dhan' });
      const delay = backoff.next();
      log.warn({ delayMs: delay, attempt: backoff.attempts }, 'Dhan feed connection lost; reconnecting');
      await sleepUnlessAborted(delay, signal);
    }
    this.connStates[index] = this.expired ? 'EXPIRED_TOKEN' : 'STOPPED';
  }

  /** One connection's life: resolves when it closes ('connected' if it got as far as open). */
  private connectOnce(
    index: number,
    instruments: DhanInstrument[],
    sink: Sink,
    signal: AbortSignal,
    log: Logger,
  ): Promise<'connected' | 'failed'> {
    const url = new URL(this.opts.feedUrl);
    url.searchParams.set('version', '2');
    url.searchParams.set('token', this.opts.accessToken);
    url.searchParams.set('clientId', this.opts.clientId);
    url.searchParams.set('authType', '2');
    return new Promise((resolve) => {
      let opened = false;
      const ws = new WebSocket(url, { handshakeTimeout: 15_000 });
      const onAbort = (): void => ws.close(1000, 'shutting down');
      signal.addEventListener('abort', onAbort, { once: true });
      ws.on('unexpected-response', (_req, res) => {
        if (res.statusCode === 401 || res.statusCode === 403) this.tokenExpired(`feed upgrade answered HTTP ${res.statusCode}`);
        else log.warn({ status: res.statusCode }, 'Dhan feed refused the WebSocket upgrade');
        res.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        opened = true;
        this.connStates[index] = 'CONNECTED';
        log.info({ instruments: instruments.length }, 'Dhan feed connected; subscribing');
        for (const m of subscribeMessages(this.opts.mode, instruments)) ws.send(m);
        this.options?.attach(index, (m) => ws.send(m));
      });
      ws.on('message', (data, isBinary) => {
        if (!isBinary) return;
        const frame = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        const received = Date.now();
        // Each message holds whole packets: bad bytes cost only themselves (framing.ts).
        const { packets, malformed } = splitMessage(frame);
        for (const m of malformed) {
          sink.emit({
            kind: 'reject',
            source: 'dhan',
            reason: 'malformed',
            detail: m.detail,
            instrumentId: m.instrumentId,
            payload: m.bytes,
          });
        }
        for (const { packet, bytes } of packets) {
          if (packet.type === 'disconnect') {
            if (isAuthDisconnect(packet.reason)) this.tokenExpired(`feed disconnect reason ${packet.reason}`);
            else log.warn({ reason: packet.reason }, 'Dhan feed sent a disconnect');
            continue;
          }
          const out = this.book.apply(packet, received, bytes);
          const home = out ? this.homes.get(out.key) : undefined;
          if (out) sink.emit({ kind: 'record', source: 'dhan', key: out.key, record: out.record, raw: bytes, home });
          if (out?.record.payload === 'tick') this.options?.spot(out.record.tick.instrument.id, out.record.tick.lastPrice);
        }
        if (!sink.hasRoom() && !ws.isPaused) {
          this.opts.metrics.paused.inc({ source: 'dhan' });
          ws.pause();
          void sink.waitForRoom().then(() => ws.resume());
        }
      });
      ws.on('error', (err) => log.warn({ err: err.message }, 'Dhan feed connection error'));
      ws.on('close', (code) => {
        this.options?.detach(index);
        signal.removeEventListener('abort', onAbort);
        if (!signal.aborted && !this.expired) log.warn({ code }, 'Dhan feed connection closed');
        resolve(opened ? 'connected' : 'failed');
      });
    });
  }

  private pollChains(slots: ChainSlots, sink: Sink, signal: AbortSignal): Promise<void> {
    const o = this.opts;
    return pollChains(
      {
        chains: o.chains,
        slots,
        rest: { apiUrl: o.apiUrl, clientId: o.clientId, accessToken: o.accessToken },
        scripMaster: o.scripMaster,
        breakerFailures: o.breakerFailures,
        breakerCoolDownMs: o.breakerCoolDownMs,
        log: o.log.child({ part: 'optionchain' }),
        expired: () => this.expired,
        tokenExpired: (detail) => this.tokenExpired(detail),
      },
      sink,
      signal,
    );
  }
}

/** The underlyings with optionChain on this shard's connections (its own and carried): their contracts stream live. */
function liveChains(plan: DhanShardPlan): LiveChain[] {
  return plan.connections.flatMap((c) =>
    c.instruments.flatMap((i: PlannedInstrument) =>
      i.spec.optionChain
        ? [
            {
              segment: i.segment,
              securityId: i.securityId,
              symbol: i.symbol,
              optionSegment: i.spec.optionChain.segment,
              lotSize: i.spec.optionChain.lotSize,
              expiries: i.spec.optionChain.expiries,
              strikes: i.spec.optionChain.strikes,
            },
          ]
        : [],
    ),
  );
}
