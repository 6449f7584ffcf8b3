// The publisher's bounded buffer and its recovery from producer-state errors, against a producer
// double whose acknowledgements the test releases one batch at a time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProducerBatch } from 'kafkajs';
import { createLogger } from '../../../services/core/log.ts';
import type { RawRecord } from '../../../services/core/messages.ts';
import { createRegistry } from '../../../services/core/metrics.ts';
import { codec } from '../../../services/core/proto.ts';
import { instrumentSpecSchema } from '../../../services/core/shardfile.ts';
import { createIngestionMetrics } from '../../../services/ingestion/metrics.ts';
import { Pipeline } from '../../../services/ingestion/pipeline.ts';
import { type BatchProducer, Publisher, producerStateError } from '../../../services/ingestion/publisher.ts';
import { SimulatorSource } from '../../../services/ingestion/simulator/source.ts';

const log = createLogger({ component: 'test', level: 'silent' });
const raw = codec<RawRecord>('RawRecord');
const tick = () => new Promise<void>((r) => setImmediate(r));
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

/** A producer whose sendBatch calls wait until the test releases them, one batch per permit. */
class GatedProducer implements BatchProducer {
  readonly sent: ProducerBatch[] = [];
  private permits = 0;
  private waiting: (() => void)[] = [];
  async sendBatch(batch: ProducerBatch): Promise<unknown> {
    while (this.permits === 0) await new Promise<void>((r) => this.waiting.push(r));
    this.permits -= 1;
    this.sent.push(batch);
    return [];
  }
  release(n: number): void {
    this.permits += n;
    const w = this.waiting;
    this.waiting = [];
    for (const r of w) r();
  }
  messages(): { key: string; value: Buffer; topic: string }[] {
    return this.sent.flatMap((b) =>
      (b.topicMessages ?? []).flatMap((t) => t.messages.map((m) => ({ ...m, topic: t.topic }))),
    ) as { key: string; value: Buffer; topic: string }[];
  }
}

const instruments = [
  instrumentSpecSchema.parse({ symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', kind: 'index', simulator: { price: 26000 } }),
  instrumentSpecSchema.parse({
    symbol: 'HDFCBANK',
    securityId: '1333',
    segment: 'NSE_EQ',
    kind: 'equity',
    simulator: { price: 1650 },
  }),
];

function rig(maxBuffered: number, batchSize: number, limit: number) {
  const producer = new GatedProducer();
  const publisher = new Publisher(producer, { maxBuffered, batchSize, lingerMs: 0, log });
  const metrics = createIngestionMetrics(createRegistry());
  const pipeline = new Pipeline({
    namespace: 'unit',
    feed: 'buf',
    shardIndex: 0,
    shardCount: 1,
    known: new Set(['IDX_I:13', 'NSE_EQ:1333']),
    skewCheckedSources: new Set(),
    maxSkewMs: 600_000,
    publisher,
    metrics,
    log,
  });
  const source = new SimulatorSource(
    {
      seed: 3,
      ticksPerSecond: 100,
      chainSnapshotsPerSecond: 0,
      startTimeMs: Date.parse('2026-11-26T04:00:00Z'),
      instruments,
      pricing: { riskFreeRate: 0.065, dividendYield: 0 },
    },
    { realTime: false, limit },
  );
  return { producer, publisher, pipeline, source };
}

describe('publisher buffer at its bound', () => {
  test('the source is paused at the bound, nothing is dropped, and it resumes once the buffer drains to 80%', async () => {
    const { producer, publisher, pipeline, source } = rig(100, 10, 1000);
    publisher.start();
    const stop = new AbortController();
    let finished = false;
    const running = source.run(pipeline, stop.signal).then(() => {
      finished = true;
    });
    await settle();

    // Kafka acknowledges nothing yet: the source stops at the bound and waits.
    assert.equal(finished, false);
    assert.equal(source.generated, 100, 'the simulator stopped generating at the bound');
    assert.equal(publisher.hasRoom(), false);
    // One batch is held by the (blocked) producer but still counts as buffered: nothing left the buffer.
    assert.equal(publisher.depth, 100);
    await settle();
    assert.equal(source.generated, 100, 'still paused: nothing generated while the buffer is full');

    // One batch acknowledged: 90 buffered is above the low-water mark (80), so still paused.
    producer.release(1);
    await settle();
    assert.equal(publisher.depth, 90);
    assert.equal(source.generated, 100, 'not resumed above 80% of the bound');

    // A second batch: 80 buffered, the low-water mark: the source resumes and fills up to the bound again.
    producer.release(1);
    await settle();
    assert.equal(source.generated, 120, 'resumed at 80% and stopped again at the bound');
    assert.equal(publisher.depth, 100);

    // Let everything through: all 1000 records reach the producer, once each, in generation order.
    producer.release(1_000);
    await running;
    assert.equal(await publisher.close(5_000), 0, 'nothing undelivered');
    const sent = producer.messages();
    assert.equal(sent.length, 1000, 'every generated record was sent, none dropped');
    assert.ok(
      sent.every((m) => m.topic === pipeline.rawTopic),
      'all of them records (none refused)',
    );
    assert.equal(publisher.publishedCount, 1000);
    for (const id of ['IDX_I:13', 'NSE_EQ:1333']) {
      const seqs = sent
        .filter((m) => m.key === id)
        .map((m) => {
          const r = raw.decode(m.value);
          return r.payload === 'tick' ? r.tick.seq : -1;
        });
      assert.ok(seqs.length > 0);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
        `${id}: in order`,
      );
    }
  });

  test('enqueue never refuses: a frame already received overshoots the bound instead of being dropped', async () => {
    const producer = new GatedProducer();
    const publisher = new Publisher(producer, { maxBuffered: 5, batchSize: 5, lingerMs: 0, log });
    publisher.start();
    const msg = (i: number) => ({
      topic: 't',
      key: `k${i}`,
      value: Buffer.from([i]),
      headers: {},
      source: 'dhan',
      enqueuedAt: 0,
    });
    for (let i = 0; i < 8; i++) publisher.enqueue(msg(i));
    assert.equal(publisher.depth, 8);
    assert.equal(publisher.hasRoom(), false);
    let roomy = false;
    void publisher.waitForRoom().then(() => {
      roomy = true;
    });
    producer.release(1);
    await settle();
    assert.equal(publisher.depth, 3);
    assert.equal(roomy, true, 'room again at the low-water mark');
    producer.release(10);
    assert.equal(await publisher.close(5_000), 0);
    assert.deepEqual(
      producer.messages().map((m) => m.key),
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `k${i}`),
    );
  });
});

describe('publisher recovery from producer errors', () => {
  const protocolError = (type: string) =>
    Object.assign(new Error('The broker received an out of order sequence number'), {
      name: 'KafkaJSNonRetriableError',
      cause: Object.assign(new Error('The broker received an out of order sequence number'), {
        name: 'KafkaJSProtocolError',
        type,
      }),
    });

  test('producer-state errors are recognised through the error chain; connection errors are not', () => {
    assert.equal(producerStateError(protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER')), 'OUT_OF_ORDER_SEQUENCE_NUMBER');
    assert.equal(producerStateError(protocolError('UNKNOWN_PRODUCER_ID')), 'UNKNOWN_PRODUCER_ID');
    assert.equal(
      producerStateError(Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' })),
      undefined,
    );
    assert.equal(producerStateError(protocolError('LEADER_NOT_AVAILABLE')), undefined);
  });

  test('a failed batch is retried with exactly the same messages, even when the buffer has grown', async () => {
    const attempts: string[][] = [];
    let fail = 1;
    const producer: BatchProducer = {
      async sendBatch(batch) {
        attempts.push((batch.topicMessages ?? []).flatMap((t) => t.messages.map((m) => String(m.key))));
        if (fail-- > 0) throw new Error('Connection error: connect ECONNREFUSED');
        return [];
      },
    };
    const publisher = new Publisher(producer, {
      maxBuffered: 100,
      batchSize: 10,
      lingerMs: 0,
      retryMinMs: 5,
      retryMaxMs: 5,
      log,
    });
    publisher.start();
    const msg = (i: number) => ({ topic: 't', key: `k${i}`, value: Buffer.from([i]), headers: {}, source: 'sim', enqueuedAt: 0 });
    for (let i = 0; i < 3; i++) publisher.enqueue(msg(i));
    // The buffer grows only once the first attempt has been made (and has failed).
    while (attempts.length === 0) await tick();
    for (let i = 3; i < 12; i++) publisher.enqueue(msg(i));
    assert.equal(await publisher.close(5_000), 0);
    assert.deepEqual(attempts[0], ['k0', 'k1', 'k2']);
    assert.deepEqual(
      attempts[1],
      ['k0', 'k1', 'k2'],
      'the retry carries the same sequence range, so the broker can deduplicate it',
    );
    assert.deepEqual(
      attempts.slice(2).flat(),
      [3, 4, 5, 6, 7, 8, 9, 10, 11].map((i) => `k${i}`),
    );
  });

  test('after OUT_OF_ORDER_SEQUENCE_NUMBER the producer is replaced and every buffered record is still delivered', async () => {
    const delivered: string[] = [];
    const broken: BatchProducer = {
      async sendBatch() {
        throw protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER');
      },
    };
    const healthy: BatchProducer = {
      async sendBatch(batch) {
        delivered.push(...(batch.topicMessages ?? []).flatMap((t) => t.messages.map((m) => String(m.key))));
        return [];
      },
    };
    let renewed = 0;
    const publisher = new Publisher(broken, {
      maxBuffered: 100,
      batchSize: 4,
      lingerMs: 0,
      retryMinMs: 5,
      retryMaxMs: 5,
      log,
      renewProducer: async () => {
        renewed += 1;
        return healthy;
      },
    });
    publisher.start();
    for (let i = 0; i < 10; i++) {
      publisher.enqueue({ topic: 't', key: `k${i}`, value: Buffer.from([i]), headers: {}, source: 'sim', enqueuedAt: 0 });
    }
    assert.equal(await publisher.close(5_000), 0, 'nothing undelivered');
    assert.equal(renewed, 1, 'replaced once, not in a loop');
    assert.equal(publisher.producerRenewals, 1);
    assert.deepEqual(
      delivered,
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => `k${i}`),
    );
  });

  test('a close that gives up on an unreachable broker ends the retry wait too, and sends nothing more', async () => {
    let attempts = 0;
    const producer: BatchProducer = {
      async sendBatch() {
        attempts += 1;
        throw new Error('Connection error: connect ECONNREFUSED');
      },
    };
    const publisher = new Publisher(producer, {
      maxBuffered: 100,
      batchSize: 10,
      lingerMs: 0,
      retryMinMs: 60_000,
      retryMaxMs: 60_000,
      log,
    });
    publisher.start();
    publisher.enqueue({ topic: 't', key: 'k', value: Buffer.from([1]), headers: {}, source: 'sim', enqueuedAt: 0 });
    while (attempts === 0) await tick();
    const started = performance.now();
    assert.equal(await publisher.close(50), 1, 'the record is reported undelivered');
    const tookMs = performance.now() - started;
    // close() waits up to 1 s of grace for the loop; the loop must not be the one holding it.
    assert.ok(tookMs < 500, `close took ${Math.round(tookMs)} ms`);
    await settle();
    assert.equal(attempts, 1, 'no retry after close');
  });
});
