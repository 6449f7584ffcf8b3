// The Ingest gRPC service of an ingestion shard: client-streaming ticks from producers inside the
// cluster, validated like every other source (the Shard status service comes from core/shard-process).
import * as grpc from '@grpc/grpc-js';
import type { GrpcService } from '../core/grpc.ts';
import type { PublishTicksResponse, Tick } from '../core/messages.ts';
import { codec, SCHEMA_VERSION, serviceDefinition } from '../core/proto.ts';
import type { Pipeline } from './pipeline.ts';
import type { Publisher } from './publisher.ts';

const tickCodec = codec<Tick>('Tick');
const MAX_REJECTIONS = 100;

/**
 * PublishTicks: every tick is validated (this shard's instruments only, finite prices > 0, time
 * within the allowed skew); accepted ticks are answered for only once Kafka has acknowledged them.
 */
export function ingestService(pipeline: Pipeline, publisher: Publisher): GrpcService {
  return {
    name: 'stockify.v1.Ingest',
    definition: serviceDefinition('Ingest'),
    implementation: {
      PublishTicks: (
        call: grpc.ServerReadableStream<Tick, PublishTicksResponse>,
        callback: grpc.sendUnaryData<PublishTicksResponse>,
      ) => {
        let index = 0;
        let accepted = 0;
        let last = 0;
        const rejections: PublishTicksResponse['rejections'] = [];
        let rejected = 0;
        call.on('data', (tick: Tick) => {
          const i = index++;
          const key = tick.instrument?.id ?? '';
          const normalised: Tick = { ...tick, source: 'grpc', receivedTimeMs: Date.now() };
          const { verdict, position } = pipeline.submit({
            kind: 'record',
            source: 'grpc',
            key,
            record: { schemaVersion: SCHEMA_VERSION, payload: 'tick', tick: normalised },
            raw: tickCodec.encode(tick),
          });
          if (verdict.ok) {
            accepted += 1;
            last = Math.max(last, position);
          } else {
            rejected += 1;
            if (rejections.length < MAX_REJECTIONS) rejections.push({ index: i, reason: `${verdict.reason}: ${verdict.detail}` });
          }
          // Back-pressure on the stream: stop reading while the buffer is full.
          if (!publisher.hasRoom()) {
            call.pause();
            void publisher.waitForRoom().then(() => call.resume());
          }
        });
        call.on('end', () => {
          publisher.waitForAcked(last).then(
            () => callback(null, { accepted, rejected, rejections }),
            (err: unknown) => callback({ code: grpc.status.UNAVAILABLE, details: String(err) } as grpc.ServiceError),
          );
        });
        call.on('error', () => {
          // The client went away; what it sent so far stays accepted and is published.
        });
      },
    },
  };
}
