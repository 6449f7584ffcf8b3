// The shard's idempotent Kafka producer and the publisher over it. The producer is replaceable: after an error that leaves its idempotence
// state out of step with the broker's, the publisher asks for a fresh one (a new producer id).
import type { Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Logger } from '../core/log.ts';
import type { IngestionFlags } from './flags.ts';
import type { IngestionMetrics } from './metrics.ts';
import { Publisher } from './publisher.ts';

/** How long the old producer may take to disconnect before it is abandoned. */
const RENEW_DISCONNECT_MS = 5_000;

export class ShardProducer {
  private readonly kafka: Kafka;
  private producer: Producer;

  constructor(kafka: Kafka) {
    this.kafka = kafka;
    this.producer = this.create();
  }

  private create(): Producer {
    return this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  get current(): Producer {
    return this.producer;
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }

  /** Drops the current producer (without waiting long for it) and connects a new one. */
  async renew(): Promise<Producer> {
    const old = this.producer;
    await Promise.race([old.disconnect(), new Promise((r) => setTimeout(r, RENEW_DISCONNECT_MS).unref())]).catch(() => undefined);
    const fresh = this.create();
    try {
      await fresh.connect();
    } catch (err) {
      await fresh.disconnect().catch(() => undefined);
      throw err;
    }
    this.producer = fresh;
    return fresh;
  }
}

/** How long the shutdown flush may wait for Kafka. */
const SHUTDOWN_FLUSH_MS = 30_000;

/** Starts the shard's publisher over this producer, with the flags' batching and the metrics' hooks. */
export function startPublisher(
  producer: ShardProducer,
  flags: IngestionFlags,
  metrics: IngestionMetrics,
  log: Logger,
): Publisher {
  const publisher = new Publisher(producer.current, {
    maxBuffered: flags.maxBuffered,
    batchSize: flags.batchSize,
    lingerMs: flags.lingerMs,
    compression: flags.compression,
    log,
    renewProducer: () => producer.renew(),
    hooks: {
      published: (source, n) => metrics.published.inc({ source }, n),
      latency: (s) => metrics.publishLatency.observe(s),
      error: () => metrics.producerErrors.inc(),
      depth: (d) => metrics.bufferDepth.set(d),
    },
  });
  publisher.start();
  return publisher;
}

/** On stop: what Kafka takes before the deadline is published; the rest is reported by the publisher. */
export async function flushPublisher(publisher: Publisher, log: Logger): Promise<void> {
  const left = await publisher.close(SHUTDOWN_FLUSH_MS);
  if (left === 0) log.info({ published: publisher.publishedCount }, 'publisher flushed');
}
