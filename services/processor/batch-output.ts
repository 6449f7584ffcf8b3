// One consumed batch of raw records → the Kafka messages it produces: enriched records for the
// shard's enriched topic and dead letters for the feed's DLQ, each carrying its record's trace.
import type { KafkaMessage, Message } from 'kafkajs';
import type { DeadLetter, EnrichedRecord } from '../core/messages.ts';
import { codec, SCHEMA_VERSION } from '../core/proto.ts';
import { extractTraceContext, injectTraceHeaders, type KafkaHeaders } from '../core/tracing.ts';
import type { RecordProcessor, Rejection } from './records.ts';

const enrichedCodec = codec<EnrichedRecord>('EnrichedRecord');
const deadLetterCodec = codec<DeadLetter>('DeadLetter');

export interface RawBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

/** What a batch produced and what it counted. */
export interface BatchOutput {
  enriched: Message[];
  dead: Message[];
  /** Offset of the batch's last record (undefined: the batch was empty). */
  lastOffset: number | undefined;
  /** Enriched records by payload kind. */
  produced: Map<string, number>;
  ivFailures: number;
  lateTicks: number;
  /** Option ticks that gave no quote (no spot of their underlying yet). */
  withoutSpot: number;
  /** Latest event time seen (UTC ms; 0: none). */
  lastTickMs: number;
}

/** Told about every record as it is processed (metrics, rate-limited logs). */
export interface RecordObserver {
  processed(seconds: number): void;
  refused(rejection: Rejection, partition: number, offset: string): void;
}

/**
 * Processes a batch whole, with no await inside: partitions processed concurrently never
 * interleave inside a record's or a batch's processing.
 */
export function processBatch(processor: RecordProcessor, batch: RawBatch, observer: RecordObserver): BatchOutput {
  const out: BatchOutput = {
    enriched: [],
    dead: [],
    lastOffset: undefined,
    produced: new Map(),
    ivFailures: 0,
    lateTicks: 0,
    withoutSpot: 0,
    lastTickMs: 0,
  };
  for (const m of batch.messages) {
    const started = performance.now();
    const offset = Number(m.offset);
    const result = processor.process(m.value, batch.partition, offset);
    const headers = injectTraceHeaders({}, extractTraceContext(m.headers as KafkaHeaders)) as Message['headers'];
    for (const o of result.outputs) {
      out.enriched.push({ key: o.key, value: enrichedCodec.encode(o.value), headers });
      out.produced.set(o.value.payload, (out.produced.get(o.value.payload) ?? 0) + 1);
    }
    if (result.rejection) {
      observer.refused(result.rejection, batch.partition, m.offset);
      out.dead.push({ key: result.rejection.instrumentId || m.key, value: deadLetter(m, result.rejection, batch), headers });
    }
    out.ivFailures += result.ivFailures;
    out.lateTicks += result.lateTicksDropped;
    out.withoutSpot += result.optionTicksWithoutSpot;
    if (result.timeMs !== undefined) out.lastTickMs = Math.max(out.lastTickMs, result.timeMs);
    observer.processed((performance.now() - started) / 1000);
    out.lastOffset = offset;
  }
  return out;
}

function deadLetter(m: KafkaMessage, r: Rejection, batch: RawBatch): Buffer {
  return deadLetterCodec.encode({
    schemaVersion: SCHEMA_VERSION,
    stage: 'processor',
    reason: `${r.reason}: ${r.detail}`,
    source: r.source,
    instrumentId: r.instrumentId,
    payload: m.value ?? Buffer.alloc(0),
    timeMs: Number(m.timestamp),
    originTopic: batch.topic,
    originPartition: batch.partition,
    originOffset: m.offset,
  });
}
