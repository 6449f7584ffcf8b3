// A gRPC client of MarketData for `stockify query`: unary calls with a deadline and the live stream.
// Errors keep their gRPC status, which the command turns into its message.
import * as grpc from '@grpc/grpc-js';
import type { Bar, IngestionGap, OptionChain, Tick } from '../core/messages.ts';
import { serviceClient } from '../core/proto.ts';
import type { WireSnapshot } from './format.ts';

type Unary = (
  req: unknown,
  metadata: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => void;

export interface TicksRequest {
  instrument: string;
  fromMs: number;
  toMs: number;
  limit: number;
  pageToken: string;
}

export class MarketDataQuery {
  readonly endpoint: string;
  private readonly client: grpc.Client;
  private readonly timeoutS: number;
  /** `authorization: Bearer <token>` on every call (spec.auth); empty without a token. */
  private readonly metadata: grpc.Metadata;

  constructor(endpoint: string, timeoutS: number, opts: { token?: string; client?: grpc.Client } = {}) {
    this.endpoint = endpoint;
    this.timeoutS = timeoutS;
    const Ctor = serviceClient('MarketData');
    this.client = opts.client ?? new Ctor(endpoint, grpc.credentials.createInsecure());
    this.metadata = new grpc.Metadata();
    if (opts.token) this.metadata.set('authorization', `Bearer ${opts.token}`);
  }

  /** The same connection, calling with another bearer token (the gateway forwards its caller's). */
  withToken(token: string | undefined): MarketDataQuery {
    return new MarketDataQuery(this.endpoint, this.timeoutS, { client: this.client, ...(token ? { token } : {}) });
  }

  private unary<T>(method: string, req: unknown): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method];
    if (!fn) throw new Error(`MarketData has no method ${method}`);
    return new Promise((resolve, reject) =>
      fn.call(this.client, req, this.metadata, { deadline: Date.now() + this.timeoutS * 1000 }, (err, res) =>
        err ? reject(err) : resolve(res as T),
      ),
    );
  }

  latest(instruments: string[]): Promise<{ snapshots: WireSnapshot[] }> {
    return this.unary('GetLatest', { instruments });
  }

  ticks(req: TicksRequest): Promise<{ ticks: Tick[]; nextPageToken: string }> {
    return this.unary('GetTicks', req);
  }

  /** The newest `limit` ticks (0 = the server's default), newest first. */
  recentTicks(req: { instrument: string; limit: number }): Promise<{ ticks: Tick[] }> {
    return this.unary('GetRecentTicks', req);
  }

  bars(req: { instrument: string; fromMs: number; toMs: number; interval: string }): Promise<{ bars: Bar[] }> {
    return this.unary('GetBars', req);
  }

  /** Recorded ingestion gaps overlapping [fromMs, toMs] ("" instrument: all of them). */
  gaps(req: { fromMs: number; toMs: number; instrument: string }): Promise<{ gaps: IngestionGap[] }> {
    return this.unary('GetGaps', req);
  }

  optionChain(req: { underlying: string; expiry: string }): Promise<OptionChain> {
    return this.unary('GetOptionChain', req);
  }

  /** Live quotes of `instruments` (a snapshot first), until cancelled. */
  stream(instruments: string[]): grpc.ClientReadableStream<WireSnapshot> {
    const stub = this.client as unknown as {
      StreamQuotes(req: unknown, metadata: grpc.Metadata): grpc.ClientReadableStream<WireSnapshot>;
    };
    return stub.StreamQuotes({ instruments }, this.metadata);
  }

  close(): void {
    this.client.close();
  }
}

/** A gRPC failure (it carries a status code), as opposed to a bug. */
export function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof (err as Partial<grpc.ServiceError> | null)?.code === 'number';
}

/** "UNAVAILABLE: No connection established" — the status name and what the server said. */
export function describeServiceError(err: grpc.ServiceError): string {
  return `${grpc.status[err.code]}: ${err.details || err.message}`;
}
