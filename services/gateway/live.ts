// Live quotes for WebSocket and SSE clients from Redis live:<instrument> (the contract in
// proto/stockify/v1/redis.proto): one Redis subscriber per gateway process, channels subscribed
// while some connection wants them, each message decoded at most once and fanned out in memory.
import type { Redis } from 'ioredis';
import type { Snapshot } from '../core/messages.ts';
import { codec } from '../core/proto.ts';
import { type Frame, Outbox, type OutboxOptions } from './outbox.ts';

export const liveChannel = (id: string): string => `live:${id}`;
export const latestKey = (id: string): string => `latest:${id}`;
const snapshotCodec = codec<Snapshot>('Snapshot');

/** One update of one instrument: the Snapshot bytes as published, JSON made once on demand. */
export class LiveMessage {
  readonly instrument: string;
  readonly bytes: Buffer;
  private text: string | undefined;
  constructor(instrument: string, bytes: Buffer) {
    this.instrument = instrument;
    this.bytes = bytes;
  }
  /** {"type":"quote","instrument":…,"snapshot":{…}}: the Snapshot as JSON (camelCase, times in ms). */
  json(): string {
    this.text ??= JSON.stringify({ type: 'quote', instrument: this.instrument, snapshot: snapshotCodec.decode(this.bytes) });
    return this.text;
  }
}

type Listener = (msg: LiveMessage) => void;

export class LiveHub {
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(sub: Redis) {
    this.sub = sub;
    sub.on('messageBuffer', (channel: Buffer, bytes: Buffer) => {
      const set = this.listeners.get(channel.toString());
      if (!set || set.size === 0) return;
      const msg = new LiveMessage(channel.toString().slice('live:'.length), bytes);
      for (const l of set) l(msg);
    });
  }

  /** Channels with at least one listener. */
  get channels(): number {
    return this.listeners.size;
  }

  /** Resolves once Redis confirmed the subscription, so nothing published afterwards is missed. */
  async add(ids: readonly string[], listener: Listener): Promise<void> {
    const fresh: string[] = [];
    for (const id of ids) {
      const ch = liveChannel(id);
      let set = this.listeners.get(ch);
      if (!set) {
        set = new Set();
        this.listeners.set(ch, set);
        fresh.push(ch);
      }
      set.add(listener);
    }
    if (fresh.length > 0) await this.sub.subscribe(...fresh);
  }

  remove(ids: readonly string[], listener: Listener): void {
    const gone: string[] = [];
    for (const id of ids) {
      const ch = liveChannel(id);
      const set = this.listeners.get(ch);
      if (!set) continue;
      set.delete(listener);
      if (set.size === 0) {
        this.listeners.delete(ch);
        gone.push(ch);
      }
    }
    if (gone.length > 0) this.sub.unsubscribe(...gone).catch(() => undefined);
  }
}

/** The latest Snapshot bytes of each id that has one (HGET latest:<id> snapshot, one round trip). */
export async function readLatest(redis: Redis, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const pipe = redis.pipeline();
  for (const id of ids) pipe.hgetBuffer(latestKey(id), 'snapshot');
  const results = (await pipe.exec()) ?? [];
  const out = new Map<string, Buffer>();
  results.forEach(([err, value], i) => {
    const id = ids[i];
    if (!err && id && Buffer.isBuffer(value)) out.set(id, value);
  });
  return out;
}

export type LiveFormat = 'json' | 'protobuf';

/** What a live session needs of its socket (WebSocket or SSE response). */
export interface LiveTransport {
  /** Bytes written but not yet sent. */
  buffered(): number;
  send(payload: string | Buffer): void;
  /** Closes with a reason the client sees (WebSocket close reason, SSE `event: close`). */
  close(code: number, reason: string): void;
}

interface Outgoing extends Frame {
  payload: string | Buffer;
}

export interface SessionOptions extends OutboxOptions {
  /** Most instruments one connection may subscribe at once. */
  maxInstruments: number;
}

export const CLOSE_TOO_SLOW = 4008;
export const CLOSE_POLICY = 1008;

export interface SessionCounters {
  conflated(n: number): void;
  cut(): void;
}

/** One client's live stream: its subscriptions, back-pressure and the flush timer while it is behind. */
export class LiveSession {
  private readonly hub: LiveHub;
  private readonly redis: Redis;
  private readonly transport: LiveTransport;
  private readonly format: LiveFormat;
  private readonly opts: SessionOptions;
  private readonly counters: SessionCounters | undefined;
  private readonly outbox: Outbox<Outgoing>;
  private readonly subscribed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listener: Listener = (msg) => this.deliver(msg.instrument, msg);

  constructor(deps: {
    hub: LiveHub;
    redis: Redis;
    transport: LiveTransport;
    format: LiveFormat;
    options: SessionOptions;
    counters?: SessionCounters;
  }) {
    this.hub = deps.hub;
    this.redis = deps.redis;
    this.transport = deps.transport;
    this.format = deps.format;
    this.opts = deps.options;
    this.counters = deps.counters;
    this.outbox = new Outbox(deps.options);
  }

  get instruments(): string[] {
    return [...this.subscribed];
  }

  /** Subscribes, then sends each instrument's latest snapshot; throws when over the per-connection limit. */
  async subscribe(ids: readonly string[]): Promise<void> {
    const fresh = [...new Set(ids)].filter((id) => !this.subscribed.has(id));
    if (this.subscribed.size + fresh.length > this.opts.maxInstruments) {
      throw new RangeError(`instruments: at most ${this.opts.maxInstruments} per connection`);
    }
    for (const id of fresh) this.subscribed.add(id);
    await this.hub.add(fresh, this.listener);
    if (this.closed) return;
    const latest = await readLatest(this.redis, fresh);
    for (const [id, bytes] of latest) this.deliver(id, new LiveMessage(id, bytes));
  }

  unsubscribe(ids: readonly string[]): void {
    const gone = ids.filter((id) => this.subscribed.delete(id));
    for (const id of gone) this.outbox.drop(id);
    this.hub.remove(gone, this.listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.remove([...this.subscribed], this.listener);
    this.subscribed.clear();
    if (this.timer) clearInterval(this.timer);
  }

  private deliver(id: string, msg: LiveMessage): void {
    if (this.closed || !this.subscribed.has(id)) return;
    const payload = this.format === 'protobuf' ? msg.bytes : msg.json();
    const frame = { payload, size: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length };
    const before = this.outbox.conflated;
    if (this.outbox.offer(id, frame, this.transport.buffered(), Date.now()) === 'send') {
      this.transport.send(payload);
      return;
    }
    if (this.outbox.conflated > before) this.counters?.conflated(1);
    this.timer ??= setInterval(() => this.flush(), 20);
  }

  private flush(): void {
    const { frames, cut } = this.outbox.flush(this.transport.buffered(), Date.now());
    for (const f of frames) this.transport.send(f.payload);
    if (cut) {
      this.counters?.cut();
      this.transport.close(CLOSE_TOO_SLOW, `too slow: behind for more than ${this.opts.maxBehindMs} ms`);
      this.close();
      return;
    }
    if (!this.outbox.behind && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
