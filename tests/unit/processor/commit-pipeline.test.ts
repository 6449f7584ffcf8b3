import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CommitPipeline,
  commitOffsetAfter,
  type PipelinePort,
  PROGRESS_COMMIT_MS,
} from '../../../services/processor/commit-pipeline.ts';

interface Sent {
  output: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A port whose sends wait until the test acknowledges (or fails) them, recording everything else. */
class FakePort implements PipelinePort<string> {
  readonly sends: Sent[] = [];
  readonly commits: { partition: number; offset: number }[] = [];
  /** The processed offset each commit carried, in commit order. */
  readonly processed: number[] = [];
  readonly seeks: { partition: number; offset: number }[] = [];
  readonly dropped: number[] = [];
  readonly rewinds: { partition: number; resume: number | undefined }[] = [];
  readonly acks: { partition: number; lag: number }[] = [];
  failCommits = false;

  send(output: string): Promise<void> {
    return new Promise((resolve, reject) => this.sends.push({ output, resolve, reject }));
  }
  async commit(partition: number, offset: number, processed: number): Promise<void> {
    if (this.failCommits) throw new Error(`commit of ${partition}@${offset} refused`);
    this.commits.push({ partition, offset });
    this.processed.push(processed);
  }
  seek(partition: number, offset: number): void {
    this.seeks.push({ partition, offset });
  }
  dropState(partition: number): void {
    this.dropped.push(partition);
  }
  rewound(partition: number, resume: number | undefined): void {
    this.rewinds.push({ partition, resume });
  }
  acknowledged(partition: number, lag: number): void {
    this.acks.push({ partition, lag });
  }

  /** The send of `output`, once the pipeline started it. */
  async started(output: string): Promise<Sent> {
    for (let i = 0; i < 100; i++) {
      const s = this.sends.find((x) => x.output === output);
      if (s) return s;
      await settle();
    }
    throw new Error(`send of ${output} never started; started: ${this.sends.map((s) => s.output).join(', ')}`);
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const heartbeat = async (): Promise<void> => {};

/** A batch of `partition` whose records are [first, last], with no bar open unless `held` says so. */
function batch(partition: number, first: number, last: number, held?: number) {
  return { partition, lastOffset: last, oldestHeld: held, lag: 0, output: `p${partition}:${first}-${last}` };
}

async function enqueue(pipeline: CommitPipeline<string>, partition: number, first: number, last: number, held?: number) {
  pipeline.fetched(partition, first);
  await pipeline.enqueue(batch(partition, first, last, held), heartbeat);
}

describe('commit pipeline', { timeout: 5_000 }, () => {
  test('never commits past an unacknowledged send', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    const send = await port.started('p0:0-9');
    await settle();
    assert.deepEqual(port.commits, [], 'committed before Kafka acknowledged the send');
    send.resolve();
    await pipeline.drain();
    assert.deepEqual(port.commits, [{ partition: 0, offset: 10 }]);
  });

  test('never commits past the first record of an open bar', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9, 3);
    (await port.started('p0:0-9')).resolve();
    await enqueue(pipeline, 0, 10, 19, 3);
    (await port.started('p0:10-19')).resolve();
    await enqueue(pipeline, 0, 20, 29, 25);
    (await port.started('p0:20-29')).resolve();
    await pipeline.drain();
    assert.deepEqual(
      port.commits.map((c) => c.offset),
      [3, 25],
      'the replay offset only up to the open bar',
    );
    // The second batch's progress is left to the third, queued behind it by then.
    assert.deepEqual(port.processed, [10, 30], 'how far it processed, beside it: lag is measured from there');
    assert.equal(commitOffsetAfter(9, undefined), 10);
    assert.equal(commitOffsetAfter(9, 12), 10);
  });

  test('offsets are committed in order per partition: a send starts after the previous batch committed', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    await enqueue(pipeline, 0, 10, 19);
    await enqueue(pipeline, 0, 20, 29);
    await enqueue(pipeline, 1, 0, 4);
    const first = await port.started('p0:0-9');
    // The other partition does not wait for this one.
    (await port.started('p1:0-4')).resolve();
    await settle();
    assert.deepEqual(
      port.sends.map((s) => s.output),
      ['p0:0-9', 'p1:0-4'],
      'a later batch of a partition was sent before the earlier one was acknowledged',
    );
    first.resolve();
    (await port.started('p0:10-19')).resolve();
    (await port.started('p0:20-29')).resolve();
    await pipeline.drain();
    assert.deepEqual(
      port.commits.filter((c) => c.partition === 0).map((c) => c.offset),
      [10, 20, 30],
    );
    assert.deepEqual(port.commits.find((c) => c.partition === 1)?.offset, 5);
  });

  test('a failed send rewinds the partition to its committed offset, and later batches of it are not sent', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    (await port.started('p0:0-9')).resolve();
    await enqueue(pipeline, 0, 10, 19);
    await enqueue(pipeline, 0, 20, 29);
    (await port.started('p0:10-19')).reject(new Error('broker gone'));
    await settle();
    await pipeline.drain();
    assert.deepEqual(port.commits, [{ partition: 0, offset: 10 }]);
    assert.deepEqual(port.seeks, [{ partition: 0, offset: 10 }]);
    assert.deepEqual(port.rewinds, [{ partition: 0, resume: 10 }]);
    assert.deepEqual(port.dropped, [0], 'bar state kept across a rewind');
    assert.ok(!port.sends.some((s) => s.output === 'p0:20-29'), 'a batch behind the failed one was sent');
    assert.equal(pipeline.rewinds, 1);
  });

  test('a failed commit rewinds the partition; with nothing committed, to the first offset fetched', async () => {
    const port = new FakePort();
    port.failCommits = true;
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 100, 109);
    (await port.started('p0:100-109')).resolve();
    await settle();
    await pipeline.drain();
    assert.deepEqual(port.seeks, [{ partition: 0, offset: 100 }]);
    assert.equal(pipeline.committedOffset(0), undefined);
  });

  test('batches after a rewind send and commit again', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    (await port.started('p0:0-9')).reject(new Error('broker gone'));
    await settle();
    await enqueue(pipeline, 0, 0, 9);
    const retries = port.sends.filter((s) => s.output === 'p0:0-9');
    assert.equal(retries.length, 2);
    retries[1]?.resolve();
    await pipeline.drain();
    assert.deepEqual(port.commits, [{ partition: 0, offset: 10 }]);
  });

  test('a group join drops the bar state of every partition and forgets revoked ones; queued batches do not commit', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    (await port.started('p0:0-9')).resolve();
    await enqueue(pipeline, 1, 0, 9);
    (await port.started('p1:0-9')).resolve();
    await settle();
    await enqueue(pipeline, 0, 10, 19);
    const inFlight = await port.started('p0:10-19');
    pipeline.joined([0]);
    assert.deepEqual([...port.dropped].sort(), [0, 1], 'bar state kept across a group join');
    assert.equal(pipeline.committedOffset(0), 10);
    assert.equal(pipeline.committedOffset(1), undefined, 'a revoked partition kept its committed offset');
    inFlight.resolve();
    await pipeline.drain();
    assert.deepEqual(
      port.commits.map((c) => `${c.partition}@${c.offset}`),
      ['0@10', '1@10'],
      'a batch of the earlier assignment committed',
    );
  });

  test('a failure of the earlier assignment does not rewind after a join', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    const inFlight = await port.started('p0:0-9');
    pipeline.joined([0]);
    inFlight.reject(new Error('broker gone'));
    await pipeline.drain();
    assert.deepEqual(port.seeks, []);
    assert.equal(pipeline.rewinds, 0);
  });

  test('at most maxPending batches of a partition wait for Kafka', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port, 2);
    await enqueue(pipeline, 0, 0, 9);
    await enqueue(pipeline, 0, 10, 19);
    let admitted = false;
    pipeline.fetched(0, 0);
    const third = pipeline.enqueue(batch(0, 20, 29), heartbeat).then(() => {
      admitted = true;
    });
    await settle();
    assert.equal(admitted, false, 'a third batch was admitted while two waited');
    (await port.started('p0:0-9')).resolve();
    await third;
    assert.equal(admitted, true);
  });

  test('drain waits for every queued batch, and a failure while stopping does not rewind', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    await enqueue(pipeline, 0, 0, 9);
    await enqueue(pipeline, 1, 0, 9);
    let drained = false;
    const draining = pipeline.drain().then(() => {
      drained = true;
    });
    (await port.started('p0:0-9')).resolve();
    await settle();
    assert.equal(drained, false);
    (await port.started('p1:0-9')).reject(new Error('broker gone'));
    await draining;
    assert.deepEqual(port.commits, [{ partition: 0, offset: 10 }]);
    assert.deepEqual(port.seeks, []);
  });

  test('lag is reported per acknowledged batch and summed over partitions', async () => {
    const port = new FakePort();
    const pipeline = new CommitPipeline(port);
    pipeline.fetched(0, 0);
    await pipeline.enqueue({ ...batch(0, 0, 9), lag: 7 }, heartbeat);
    pipeline.fetched(1, 0);
    await pipeline.enqueue({ ...batch(1, 0, 9), lag: 5 }, heartbeat);
    assert.equal(pipeline.totalLag(), 0, 'lag counted before acknowledgement');
    (await port.started('p0:0-9')).resolve();
    (await port.started('p1:0-9')).resolve();
    await pipeline.drain();
    assert.equal(pipeline.totalLag(), 12);
    pipeline.joined([1]);
    assert.equal(pipeline.totalLag(), 5);
  });

  test('with the replay offset held by an open bar, progress under load is committed at most once per PROGRESS_COMMIT_MS, and the last batch always', async () => {
    const port = new FakePort();
    let nowMs = 0;
    const pipeline = new CommitPipeline(port, 8, () => nowMs);
    // Four batches queued at once, all behind a bar opened at offset 0.
    for (let i = 0; i < 4; i++) await enqueue(pipeline, 0, i * 10, i * 10 + 9, 0);
    const ackAt = async (output: string, atMs: number): Promise<void> => {
      nowMs = atMs;
      (await port.started(output)).resolve();
      await settle();
    };
    await ackAt('p0:0-9', 0);
    await ackAt('p0:10-19', PROGRESS_COMMIT_MS - 1);
    await ackAt('p0:20-29', PROGRESS_COMMIT_MS);
    await ackAt('p0:30-39', PROGRESS_COMMIT_MS + 1);
    await pipeline.drain();
    assert.deepEqual(port.processed, [10, 30, 40], 'the first, one a PROGRESS_COMMIT_MS later, and the last queued');
    assert.ok(
      port.commits.every((c) => c.offset === 0),
      'the replay offset stays at the open bar',
    );
  });
});
