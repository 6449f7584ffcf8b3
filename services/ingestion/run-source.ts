// How an ingestion shard ends: a signal stops it (exit 0); a failed source stops it (exit 1); a
// finished source either waits for a signal or, with --exit-when-done, for Kafka to take every
// record and then exits 0.
import { setTimeout as delay } from 'node:timers/promises';
import { exitEvenIfHandlesLinger, type Lifecycle } from '../core/lifecycle.ts';
import type { Logger } from '../core/log.ts';
import type { Pipeline } from './pipeline.ts';
import type { Publisher } from './publisher.ts';
import type { Source } from './source.ts';

export interface RunSourceOptions {
  source: Source;
  pipeline: Pipeline;
  publisher: Publisher;
  lifecycle: Lifecycle;
  /** Resolves once a signal has stopped the process. */
  stopped: Promise<void>;
  exitWhenDone: boolean;
  /** After a stop signal the source keeps streaming this long, overlapping its successor (handover.ts). */
  overlapMs?: number;
  log: Logger;
}

/** Runs the source to its end and returns the process's exit code. */
export async function runSource(o: RunSourceOptions): Promise<number> {
  const { log, lifecycle, stopped } = o;
  const abort = new AbortController();
  lifecycle.onStop('source', () => abort.abort());
  // Registered after the source, so run before it: the source stays open through the overlap.
  const overlapMs = o.overlapMs ?? 0;
  if (overlapMs > 0) {
    lifecycle.onStop('handover overlap', async () => {
      log.info({ overlapMs }, 'stop requested: streaming on while the successor takes over');
      await delay(overlapMs);
    });
  }
  const finished = o.source.run(o.pipeline, abort.signal).then(
    () => 'finished' as const,
    (err: unknown) => {
      log.error({ err }, 'source failed');
      return 'failed' as const;
    },
  );
  const first = await Promise.race([stopped.then(() => 'signal' as const), finished]);
  if (first === 'failed') {
    await lifecycle.stop();
    exitEvenIfHandlesLinger(log);
    process.stderr.write('stockify: ingestion: the source failed (see the log)\n');
    return 1;
  }
  if (first === 'finished') {
    log.info({ accepted: o.pipeline.accepted, rejected: o.pipeline.rejected }, 'source finished');
    if (o.exitWhenDone) return drainThenStop(o);
  }
  await stopped;
  exitEvenIfHandlesLinger(log);
  return 0;
}

/**
 * The source is done, not interrupted: wait for Kafka to take every record, however long an outage
 * lasts (the shutdown flush has a deadline; this must not). A signal still stops it.
 */
async function drainThenStop(o: RunSourceOptions): Promise<number> {
  const drained = await Promise.race([
    o.publisher.drained().then(() => 'drained' as const),
    o.stopped.then(() => 'signal' as const),
  ]);
  if (drained === 'drained') {
    o.log.info({ published: o.publisher.publishedCount }, 'every record is in Kafka');
    await o.lifecycle.stop();
  }
  exitEvenIfHandlesLinger(o.log);
  return 0;
}
