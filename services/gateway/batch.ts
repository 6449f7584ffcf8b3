// Coalesces the socket writes of one batch of live updates. ioredis hands over every message of a
// chunk read from Redis synchronously, one after another; a connection subscribed to several of
// those instruments would otherwise pay one write system call per update. Its socket is corked at
// its first write of the batch and uncorked once the batch is over (the next tick), so all the
// batch's frames to it leave in one writev. The more the gateway falls behind, the bigger the chunks
// and the more this saves; a gateway that keeps up pays one cork/uncork per write.

export interface Corkable {
  cork(): void;
  uncork(): void;
}

export class WriteBatch {
  private readonly held = new Set<Corkable>();
  private readonly schedule: (release: () => void) => void;
  private readonly release = (): void => {
    for (const target of this.held) target.uncork();
    this.held.clear();
  };

  /** `schedule` runs the release after the current batch (process.nextTick by default). */
  constructor(schedule: (release: () => void) => void = (release) => process.nextTick(release)) {
    this.schedule = schedule;
  }

  /** Number of targets corked in the current batch. */
  get size(): number {
    return this.held.size;
  }

  /** Corks `target` until the end of the current batch (at most once per batch). */
  hold(target: Corkable): void {
    if (this.held.has(target)) return;
    this.held.add(target);
    target.cork();
    if (this.held.size === 1) this.schedule(this.release);
  }
}
