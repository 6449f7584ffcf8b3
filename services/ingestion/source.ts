// What every source hands the pipeline: records to publish, or input it refused (for the DLQ).
import { setTimeout as delay } from 'node:timers/promises';
import type { RawRecord } from '../core/messages.ts';

export type SourceName = 'simulator' | 'replay' | 'dhan' | 'grpc';

/** Why input was refused; the `reason` label of the DLQ metric. */
export type RejectReason = 'malformed' | 'bad-price' | 'unknown-instrument' | 'not-in-shard' | 'time-skew' | 'bad-time';

export type SourceItem =
  | {
      kind: 'record';
      source: SourceName;
      key: string;
      record: RawRecord;
      /** The bytes it was decoded from, kept for the DLQ should validation refuse it. */
      raw?: Buffer;
      /**
       * The shard whose raw topic gets it when this shard carries another's instrument (a Dhan
       * connection planned for a shard that holds none); undefined: this shard's own.
       */
      home?: number | undefined;
    }
  | {
      kind: 'reject';
      source: SourceName;
      reason: RejectReason;
      detail: string;
      instrumentId: string;
      /** The original bytes, as received. */
      payload: Buffer;
    };

/**
 * Where sources deliver. `emit` always accepts (nothing handed over is lost); `hasRoom` turns false
 * when the publisher's buffer reaches its bound, and pull-style sources then await `waitForRoom`.
 */
export interface Sink {
  emit(item: SourceItem): void;
  hasRoom(): boolean;
  waitForRoom(): Promise<void>;
}

export type ConnectionState =
  | 'STARTING'
  | 'RUNNING'
  | 'CONNECTED'
  | 'RECONNECTING'
  | 'EXPIRED_TOKEN'
  | 'FINISHED'
  | 'STOPPED'
  | 'FAILED';

export interface Source {
  readonly name: SourceName;
  /** Runs until the input ends or the signal aborts. */
  run(sink: Sink, signal: AbortSignal): Promise<void>;
  state(): ConnectionState;
}

/** Waits ms, or less when the source is stopped; never rejects. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
