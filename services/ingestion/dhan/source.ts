// The Dhan v2 source: live market feed over WebSocket (JSON subscribe, binary responses) plus the
// option-chain REST poller (chain-poller.ts).
//
// Connections: instruments are split into connections of at most 5,000 (at most 5 connections;
// beyond 25,000 the excess is refused with a log line) and subscribed in messages of at most 100.
// A dropped connection reconnects with jittered exponential back-off (policies.ts). An expired or invalid token
// (disconnect reason 807/808/809, or HTTP 401 on the upgrade or the REST API) is not retried: the
// state becomes EXPIRED_TOKEN (one error line, a metric), and the process keeps serving health,
// metrics and status so that operators and alerts see it.
//
// Back-pressure: when the publisher's buffer is full the socket is paused (TCP flow control holds
// the data at Dhan) and resumed at the low-water mark; packets already received are kept. Nothing
// is dropped on our side; if Dhan gives up on a slow reader, we reconnect.
import WebSocket from 'ws';
import { Backoff } from '../../core/backoff.ts';
import type { Logger } from '../../core/log.ts';
import { instrumentId, type Segment } from '../../core/messages.ts';
import type { IngestionMetrics } from '../metrics.ts';
import { type ConnectionState, type Sink, type Source, sleepUnlessAborted } from '../source.ts';
import { pollChains } from './chain-poller.ts';
import { subscribeMessages } from './feed-requests.ts';
import { splitMessage } from './framing.ts';
import { istToday, OptionFeed, optionLanes } from './option-feed.ts';
import type { ChainUnderlying } from './optionchain.ts';
import { isAuthDisconnect, reconnectPolicy } from './policies.ts';
import type { ScripMaster } from './scrip-master.ts';
import { DhanState } from './state.ts';

export { MAX_PER_MESSAGE, REQUEST_CODES, subscribeMessages } from './feed-requests.ts';
export const MAX_PER_CONNECTION = 5_000;
export const MAX_CONNECTIONS = 5;

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
  instruments: readonly DhanInstrument[];
  chains: readonly ChainUnderlying[];
  chainPollMs: number;
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

  constructor(opts: DhanSourceOptions) {
    this.opts = opts;
    this.symbols = new Map(opts.instruments.map((i) => [instrumentId(i.segment, i.securityId), i.symbol]));
    this.book = new DhanState(this.symbols, (id) => this.options?.describe(id));
  }

  /** Contracts of live option windows subscribed now. */
  get optionContracts(): number {
    return this.options?.subscribed ?? 0;
  }

  /** Each connection's underlyings stream their option contracts in the room it has left. */
  private liveOptions(groups: readonly DhanInstrument[][]): OptionFeed | undefined {
    const { chains, scripMaster, log } = this.opts;
    if (chains.length === 0) return undefined;
    if (!scripMaster) {
      log.warn('no scrip master (--scrip-master): option contracts come from the REST chain only, not live');
      return undefined;
    }
    const lanes = optionLanes(groups, chains, scripMaster, istToday(Date.now()), MAX_PER_CONNECTION);
    return new OptionFeed(lanes, this.opts.mode, log.child({ part: 'options' }));
  }

  state(): ConnectionState {
    if (this.expired) return 'EXPIRED_TOKEN';
    if (this.connStates.length === 0) return this.opts.chains.length > 0 ? 'CONNECTED' : 'STARTING';
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
    const capacity = MAX_PER_CONNECTION * MAX_CONNECTIONS;
    const instruments = this.opts.instruments.slice(0, capacity);
    if (this.opts.instruments.length > capacity) {
      this.opts.log.error(
        { instruments: this.opts.instruments.length, capacity },
        'more instruments than Dhan allows on 5 connections; the excess is not subscribed (use more shards)',
      );
    }
    const groups: DhanInstrument[][] = [];
    for (let i = 0; i < instruments.length; i += MAX_PER_CONNECTION) groups.push(instruments.slice(i, i + MAX_PER_CONNECTION));
    this.options = this.liveOptions(groups);
    const tasks = groups.map((g, i) => {
      this.connStates[i] = 'STARTING';
      return this.connection(i, g, sink, signal);
    });
    if (this.opts.chains.length > 0) tasks.push(this.pollChains(sink, signal));
    await Promise.all(tasks);
  }

  private async connection(index: number, instruments: DhanInstrument[], sink: Sink, signal: AbortSignal): Promise<void> {
    const log = this.opts.log.child({ connection: index });
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
          if (out) sink.emit({ kind: 'record', source: 'dhan', key: out.key, record: out.record, raw: bytes });
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

  private pollChains(sink: Sink, signal: AbortSignal): Promise<void> {
    const o = this.opts;
    return pollChains(
      {
        chains: o.chains,
        chainPollMs: o.chainPollMs,
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
