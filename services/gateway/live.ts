// Live quotes for WebSocket and SSE clients from Redis live:<instrument> (the contract in
// proto/stockify/v1/redis.proto): one Redis subscriber per gateway process, channels subscribed
// while some connection wants them, each message decoded at most once and fanned out in memory.
// The hot path is one message to many connections: everything a connection writes (JSON text, SSE
// event, protobuf bytes) is encoded once per message and shared, so a delivery allocates nothing of
// its own before the socket write.
import type { Redis } from 'ioredis';
import type { Snapshot } from '../core/messages.ts';
import { codec } from '../core/proto.ts';
import { WriteBatch } from './batch.ts';
import { type Frame, Outbox, type OutboxOptions } from './outbox.ts';

const LIVE_PREFIX = 'live:';
export const liveChannel = (id: string): string => `${LIVE_PREFIX}${id}`;
export const latestKey = (id: string): string => `latest:${id}`;
const snapshotCodec = codec<Snapshot>('Snapshot');

export type LiveFormat = 'json' | 'protobuf';
/** How a transport frames an update: WebSocket text (JSON) or binary (protobuf), or an SSE event. */
export type LiveEncoding = LiveFormat | 'sse';

/** An update as one encoding writes it; built once per message and shared by every connection. */
export interface Encoded extends Frame {
  readonly payload: Buffer;
}

const encodedOf = (payload: Buffer): Encoded => ({ payload, size: payload.length });

/** One update of one instrument: the Snapshot bytes as published, each encoding made once on demand. */
export class LiveMessage {
  readonly instrument: string;
  readonly bytes: Buffer;
  /** When the gateway received it (epoch ms): read once for all the connections it goes to. */
  readonly atMs: number;
  private text: string | undefined;
  private asJson: Encoded | undefined;
  private asSse: Encoded | undefined;
  private asProtobuf: Encoded | undefined;
  constructor(instrument: string, bytes: Buffer, atMs = Date.now()) {
    this.instrument = instrument;
    this.bytes = bytes;
    this.atMs = atMs;
  }
  /** {"type":"quote","instrument":…,"snapshot":{…}}: the Snapshot as JSON (camelCase, times in ms). */
  json(): string {
    this.text ??= JSON.stringify({ type: 'quote', instrument: this.instrument, snapshot: snapshotCodec.decode(this.bytes) });
    return this.text;
  }
  /** The bytes a transport writes: the JSON text, an SSE `quote` event of it, or the Snapshot bytes. */
  encode(encoding: LiveEncoding): Encoded {
    if (encoding === 'json') {
      this.asJson ??= encodedOf(Buffer.from(this.json()));
      return this.asJson;
    }
    if (encoding === 'sse') {
      this.asSse ??= encodedOf(Buffer.from(`event: quote\ndata: ${this.json()}\n\n`));
      return this.asSse;
    }
    this.asProtobuf ??= encodedOf(this.bytes);
    return this.asProtobuf;
  }
}

type Listener = (msg: LiveMessage) => void;

export class LiveHub {
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  /** The writes of one chunk of Redis messages, one writev per connection (see batch.ts). */
  readonly batch = new WriteBatch();

  constructor(sub: Redis) {
    this.sub = sub;
    sub.on('messageBuffer', (channel: Buffer, bytes: Buffer) => {
      const name = channel.toString('latin1'); // channel names are ASCII
      const set = this.listeners.get(name);
      if (!set || set.size === 0) return;
      const msg = new LiveMessage(name.slice(LIVE_PREFIX.length), bytes);
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

/** What a live session needs of its socket (WebSocket or SSE response). */
export interface LiveTransport {
  /** Bytes written but not yet sent. */
  buffered(): number;
  /** Writes one update as encoded for this transport (a WebSocket sends JSON as a text frame). */
  send(payload: Buffer): void;
  /** Buffers writes until `uncork` (the socket's cork/uncork), so a batch leaves in one system call. */
  cork(): void;
  uncork(): void;
  /** Closes with a reason the client sees (WebSocket close reason, SSE `event: close`). */
  close(code: number, reason: string): void;
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
  private readonly encoding: LiveEncoding;
  private readonly opts: SessionOptions;
  private readonly counters: SessionCounters | undefined;
  private readonly outbox: Outbox<Encoded>;
  private readonly subscribed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly listener: Listener = (msg) => this.deliver(msg);

  constructor(deps: {
    hub: LiveHub;
    redis: Redis;
    transport: LiveTransport;
    encoding: LiveEncoding;
    options: SessionOptions;
    counters?: SessionCounters;
  }) {
    this.hub = deps.hub;
    this.redis = deps.redis;
    this.transport = deps.transport;
    this.encoding = deps.encoding;
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
    for (const [id, bytes] of latest) this.deliver(new LiveMessage(id, bytes));
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

  private deliver(msg: LiveMessage): void {
    const id = msg.instrument;
    if (this.closed || !this.subscribed.has(id)) return;
    const frame = msg.encode(this.encoding);
    const before = this.outbox.conflated;
    if (this.outbox.offer(id, frame, this.transport.buffered(), msg.atMs) === 'send') {
      this.hub.batch.hold(this.transport);
      this.transport.send(frame.payload);
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
