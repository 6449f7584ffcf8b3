// The processor's at-least-once commit protocol, apart from Kafka. Per partition, processed batches
// are sent one after another in offset order while the consumer processes the next one, and each
// commits only after its own send was acknowledged, never past the first record of a bar still
// open: a killed process loses nothing, its successor replays from the committed offset. A failed
// send or commit rewinds the partition to its committed offset with fresh bar state; a group join
// drops the bar state of every partition (kafkajs resumes them all from their committed offsets).

/** Largest number of processed batches of one partition waiting for Kafka's acknowledgement. */
export const MAX_PENDING_BATCHES = 4;

/**
 * When only the processed offset moved (an open bar holds the replay offset back), it is committed
 * once the partition has no later batch queued, or at least this often under load.
 */
export const PROGRESS_COMMIT_MS = 1_000;

/** What the protocol does to the world: Kafka, and the state built from a partition's records. */
export interface PipelinePort<Output> {
  /** Sends one batch's output; resolves once every replica acknowledged it. */
  send(output: Output): Promise<void>;
  /**
   * Commits `offset` (the next record to read after a restart) of `partition`, and beside it
   * `processed`: every record before it was processed and its output acknowledged (the lag the
   * operator scales on is measured from there, services/core/commit-metadata.ts).
   */
  commit(partition: number, offset: number, processed: number): Promise<void>;
  /** Makes the consumer fetch `partition` from `offset` next. */
  seek(partition: number, offset: number): void;
  /** Forgets the state built from `partition`'s records: it is rebuilt from the committed offset. */
  dropState(partition: number): void;
  /** A send or commit of `partition` failed; it resumes from `resumeOffset` (undefined: nothing fetched to go back to). */
  rewound(partition: number, resumeOffset: number | undefined, err: unknown): void;
  /** A batch of `partition` reached Kafka and its offset is committed; `lag` records remain behind it. */
  acknowledged(partition: number, lag: number): void;
}

/** One processed batch of a partition, ready to send. */
export interface ProcessedBatch<Output> {
  partition: number;
  /** Offset of the batch's last record. */
  lastOffset: number;
  /** The first offset of a bar still open after this batch (undefined: no open bar). */
  oldestHeld: number | undefined;
  /** Records between the batch's end and the partition's end when it was fetched. */
  lag: number;
  output: Output;
}

/** Where a restart must resume once a batch is acknowledged: past it, but never past an open bar. */
export function commitOffsetAfter(lastOffset: number, oldestHeld: number | undefined): number {
  return oldestHeld === undefined ? lastOffset + 1 : Math.min(oldestHeld, lastOffset + 1);
}

export class CommitPipeline<Output> {
  private readonly port: PipelinePort<Output>;
  private readonly maxPending: number;
  private readonly committed = new Map<number, number>();
  /** Per partition, the processed offset last committed and when. */
  private readonly progress = new Map<number, { processed: number; atMs: number }>();
  private readonly now: () => number;
  private readonly lags = new Map<number, number>();
  /** The first offset fetched of a partition since it was assigned (where a replay starts when nothing is committed). */
  private readonly startOffsets = new Map<number, number>();
  /** Per partition, the batches being sent, oldest first; each commits after its send. */
  private readonly queues = new Map<number, Promise<void>[]>();
  /** Bumped per partition on a rewind: batches queued before it neither send nor commit. */
  private readonly generations = new Map<number, number>();
  /** Bumped on every group join: batches of an earlier assignment neither send nor commit. */
  private epoch = 0;
  private stopping = false;
  private rewindCount = 0;

  constructor(port: PipelinePort<Output>, maxPending = MAX_PENDING_BATCHES, now: () => number = Date.now) {
    this.port = port;
    this.maxPending = maxPending;
    this.now = now;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Sends or commits that failed and rewound their partition. */
  get rewinds(): number {
    return this.rewindCount;
  }

  committedOffset(partition: number): number | undefined {
    return this.committed.get(partition);
  }

  /** Records behind the last acknowledged batch, over every partition. */
  totalLag(): number {
    let sum = 0;
    for (const lag of this.lags.values()) sum += lag;
    return sum;
  }

  /** The consumer fetched a batch of `partition` starting at `firstOffset`. */
  fetched(partition: number, firstOffset: number): void {
    if (!this.startOffsets.has(partition)) this.startOffsets.set(partition, firstOffset);
  }

  /**
   * The consumer (re)joined its group with `assigned` partitions. Every partition resumes from its
   * committed offset, so bar state is dropped for all, kept ones included (replaying into it would
   * count ticks twice); batches still queued from before neither send nor commit.
   */
  joined(assigned: Iterable<number>): void {
    this.epoch += 1;
    const mine = new Set(assigned);
    for (const p of new Set([...this.committed.keys(), ...this.startOffsets.keys()])) {
      this.port.dropState(p);
      if (!mine.has(p)) {
        this.committed.delete(p);
        this.lags.delete(p);
      }
    }
    this.startOffsets.clear();
    // Every partition replays from its committed offset: what was processed before counts again.
    this.progress.clear();
  }

  /**
   * Queues a processed batch behind its partition's earlier ones; resolves once at most
   * `maxPending` batches of the partition wait for Kafka (back-pressure), heartbeating meanwhile.
   */
  async enqueue(batch: ProcessedBatch<Output>, heartbeat: () => Promise<void>): Promise<void> {
    const { partition } = batch;
    const epoch = this.epoch;
    const generation = this.generations.get(partition) ?? 0;
    const live = (): boolean => epoch === this.epoch && (this.generations.get(partition) ?? 0) === generation;
    const queue = this.queues.get(partition) ?? [];
    this.queues.set(partition, queue);
    const link: Promise<void> = (queue.at(-1) ?? Promise.resolve())
      .then(async () => {
        if (!live()) return;
        await this.port.send(batch.output);
        if (!live()) return;
        const next = commitOffsetAfter(batch.lastOffset, batch.oldestHeld);
        const processed = batch.lastOffset + 1;
        const done = this.committed.get(partition);
        const last = this.progress.get(partition);
        const now = this.now();
        const progressed =
          (last === undefined || processed > last.processed) &&
          (queue.at(-1) === link || last === undefined || now - last.atMs >= PROGRESS_COMMIT_MS);
        if (done === undefined || next > done || progressed) {
          await this.port.commit(partition, Math.max(next, done ?? next), processed);
          this.committed.set(partition, Math.max(next, done ?? next));
          this.progress.set(partition, { processed, atMs: now });
        }
        this.lags.set(partition, batch.lag);
        this.port.acknowledged(partition, batch.lag);
      })
      .catch((err: unknown) => {
        if (live() && !this.stopping) this.rewind(partition, generation, err);
      })
      .finally(() => {
        const i = queue.indexOf(link);
        if (i >= 0) queue.splice(i, 1);
      });
    queue.push(link);
    while (queue.length > this.maxPending) {
      await queue[0];
      await heartbeat();
    }
  }

  /** Stops taking failures as reasons to rewind and waits for every queued batch. */
  async drain(): Promise<void> {
    this.stopping = true;
    for (let queued = this.pending(); queued.length > 0; queued = this.pending()) await Promise.all(queued);
  }

  private pending(): Promise<void>[] {
    return [...this.queues.values()].flat();
  }

  private rewind(partition: number, generation: number, err: unknown): void {
    this.generations.set(partition, generation + 1);
    this.rewindCount += 1;
    this.port.dropState(partition);
    this.progress.delete(partition);
    const resume = this.committed.get(partition) ?? this.startOffsets.get(partition);
    this.port.rewound(partition, resume, err);
    if (resume !== undefined) this.port.seek(partition, resume);
  }
}
