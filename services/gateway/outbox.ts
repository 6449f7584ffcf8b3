// Per-connection back-pressure for live streams, pure so it is tested without sockets. While the
// socket's send buffer is below the high-water mark, updates go straight out. Above it, updates
// wait in `pending`, one per instrument (the newest replaces an older one: conflation), so memory
// per connection is bounded by the number of instruments it subscribed, never by the update rate.
// A connection that stays behind for longer than `maxBehindMs` is cut.

export interface OutboxOptions {
  /** Bytes the socket may hold unsent before updates are conflated. */
  highWaterBytes: number;
  /** How long a connection may stay behind before it is cut. */
  maxBehindMs: number;
}

export interface Frame {
  /** Encoded size, counted against the high-water mark. */
  readonly size: number;
}

export type Offer = 'send' | 'queued';

export class Outbox<F extends Frame> {
  private readonly opts: OutboxOptions;
  private readonly pending = new Map<string, F>();
  private behindSince: number | undefined;
  /** Updates replaced by a newer one of the same instrument before they were sent. */
  conflated = 0;

  constructor(opts: OutboxOptions) {
    this.opts = opts;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get behind(): boolean {
    return this.behindSince !== undefined;
  }

  /** 'send': write the frame now. 'queued': kept (conflated) until `flush` finds room. */
  offer(instrument: string, frame: F, bufferedBytes: number, nowMs: number): Offer {
    if (this.pending.size === 0 && bufferedBytes < this.opts.highWaterBytes) return 'send';
    if (this.pending.has(instrument)) this.conflated++;
    this.pending.set(instrument, frame);
    this.behindSince ??= nowMs;
    return 'queued';
  }

  /**
   * The queued frames that fit below the high-water mark now, oldest instrument first, and whether
   * the connection has been behind too long (`cut`: close it with a reason).
   */
  flush(bufferedBytes: number, nowMs: number): { frames: F[]; cut: boolean } {
    const frames: F[] = [];
    let buffered = bufferedBytes;
    for (const [id, frame] of this.pending) {
      if (buffered >= this.opts.highWaterBytes) break;
      frames.push(frame);
      buffered += frame.size;
      this.pending.delete(id);
    }
    if (this.pending.size === 0 && buffered < this.opts.highWaterBytes) this.behindSince = undefined;
    const cut = this.behindSince !== undefined && nowMs - this.behindSince > this.opts.maxBehindMs;
    return { frames, cut };
  }

  /** Forgets an instrument's queued update (the client unsubscribed). */
  drop(instrument: string): void {
    this.pending.delete(instrument);
  }
}
