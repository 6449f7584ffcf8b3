// The gRPC MarketData service: latest snapshots from Redis (PostgreSQL when Redis cannot answer),
// history from PostgreSQL, and live quotes streamed from Redis pub/sub.
import * as grpc from '@grpc/grpc-js';
import type { Redis } from 'ioredis';
import { type GrpcService, grpcError } from '../core/grpc.ts';
import type { Logger } from '../core/log.ts';
import type { OptionChain, Snapshot } from '../core/messages.ts';
import { serviceDefinition } from '../core/proto.ts';
import { ChainCache } from './chain-cache.ts';
import { parseGapsRequest } from './gaps.ts';
import { liveChannel, readLatest, snapshotCodec } from './live.ts';
import type { StorageMetrics } from './metrics.ts';
import { type HistoryReader, NotFoundError, type QueryContext } from './queries.ts';
import {
  ArgumentError,
  checkInstrumentList,
  encodePageToken,
  parseBarsRequest,
  parseChainRequest,
  parseRecentTicksRequest,
  parseTicksRequest,
} from './requests.ts';

/** Longest a query may run when the caller sets no deadline. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

type Listener = (bytes: Buffer) => void;

/** One Redis subscriber connection shared by every stream, with a listener set per channel. */
export class LiveHub {
  private readonly sub: Redis;
  private readonly listeners = new Map<string, Set<Listener>>();
  constructor(sub: Redis) {
    this.sub = sub;
    sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      for (const l of this.listeners.get(channel.toString()) ?? []) l(message);
    });
  }

  /** Subscribes before resolving, so nothing published afterwards is missed. Returns the unsubscriber. */
  async subscribe(ids: readonly string[], listener: Listener): Promise<() => void> {
    const channels = ids.map(liveChannel);
    const fresh = channels.filter((ch) => !this.listeners.has(ch));
    for (const ch of channels) {
      const set = this.listeners.get(ch) ?? new Set<Listener>();
      set.add(listener);
      this.listeners.set(ch, set);
    }
    const remove = (): void => {
      const gone: string[] = [];
      for (const ch of channels) {
        const set = this.listeners.get(ch);
        set?.delete(listener);
        if (set && set.size === 0) {
          this.listeners.delete(ch);
          gone.push(ch);
        }
      }
      if (gone.length > 0) this.sub.unsubscribe(...gone).catch(() => undefined);
    };
    try {
      if (fresh.length > 0) await this.sub.subscribe(...fresh);
    } catch (err) {
      remove();
      throw err;
    }
    return remove;
  }
}

interface Deps {
  reader: HistoryReader;
  /** Latest chains in process; without it every GetOptionChain reads PostgreSQL. */
  chains?: ChainCache;
  redis: Redis;
  hub: LiveHub;
  metrics: StorageMetrics;
  log: Logger;
}

function queryContext(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): QueryContext {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  const remaining = Number.isFinite(at) ? at - Date.now() : DEFAULT_QUERY_TIMEOUT_MS;
  return {
    timeoutMs: Math.max(1, Math.min(remaining, DEFAULT_QUERY_TIMEOUT_MS)),
    onCancel: (cb) => {
      if (call.cancelled) {
        cb();
        return () => undefined;
      }
      call.once('cancelled', cb);
      return () => {
        call.off('cancelled', cb);
      };
    },
  };
}

/** Maps an error to the gRPC status a client can act on. */
export function toStatus(err: unknown, deadlineHit: boolean): grpc.ServiceError {
  if (err instanceof ArgumentError) return grpcError(grpc.status.INVALID_ARGUMENT, err.message);
  if (err instanceof NotFoundError) return grpcError(grpc.status.NOT_FOUND, err.message);
  const code = (err as { code?: string }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === '57014') {
    return deadlineHit
      ? grpcError(grpc.status.DEADLINE_EXCEEDED, 'deadline passed while querying PostgreSQL')
      : grpcError(grpc.status.CANCELLED, 'query cancelled');
  }
  if (code?.startsWith('08') || code === '57P01' || code === 'ECONNREFUSED' || /timeout|terminat|connect/i.test(message)) {
    return grpcError(grpc.status.UNAVAILABLE, `PostgreSQL unavailable: ${message}`);
  }
  return grpcError(grpc.status.INTERNAL, message);
}

/**
 * A unary handler in two steps: `parse` turns the request into typed values (a client mistake
 * becomes INVALID_ARGUMENT before any database work), then `run` answers it. Only server faults
 * (INTERNAL, UNAVAILABLE) count as database errors.
 */
function unary<Req, Q, Res>(
  deps: Deps,
  name: string,
  parse: (req: Req) => Q,
  run: (q: Q, ctx: QueryContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let q: Q;
    try {
      q = parse(call.request);
    } catch (err) {
      callback(toStatus(err, false));
      return;
    }
    const ctx = queryContext(call as grpc.ServerUnaryCall<unknown, unknown>);
    const started = Date.now();
    Promise.resolve()
      .then(() => run(q, ctx))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const status = toStatus(err, Date.now() - started >= ctx.timeoutMs - 5);
          if (status.code === grpc.status.INTERNAL || status.code === grpc.status.UNAVAILABLE) {
            deps.metrics.dbErrors.inc({ operation: name });
            deps.log.error({ err, rpc: name }, 'MarketData call failed');
          }
          callback(status);
        },
      );
  };
}

/**
 * GetLatest: every id from Redis in one round trip, the ones Redis does not have from PostgreSQL in
 * one statement. Redis holds encoded Snapshots, so the response is assembled from their bytes
 * without decoding them (GetLatestResponse is `repeated Snapshot snapshots = 1`).
 */
function getLatest(deps: Deps): grpc.handleUnaryCall<{ instruments?: string[] }, Buffer> {
  const { reader, redis, metrics, log } = deps;
  const parse = (req: { instruments?: string[] }): string[] => checkInstrumentList(req.instruments);
  return unary(deps, 'GetLatest', parse, async (ids, ctx) => {
    let found = new Map<string, Buffer>();
    try {
      found = await readLatest(redis, ids);
    } catch (err) {
      metrics.redisErrors.inc({ operation: 'get_latest' });
      log.warn({ err }, 'Redis cannot answer GetLatest; reading PostgreSQL');
    }
    const missing = found.size === ids.length ? [] : ids.filter((id) => !found.has(id));
    const stored = missing.length > 0 ? await reader.latest(ctx, missing) : new Map<string, Snapshot>();
    const parts: Buffer[] = [];
    for (const id of ids) {
      const s = stored.get(id);
      const bytes = found.get(id) ?? (s ? snapshotCodec.encode(s) : undefined);
      if (bytes) parts.push(lengthDelimited(1, bytes));
    }
    return Buffer.concat(parts);
  });
}

/** One length-delimited protobuf field (tag, varint length, bytes). */
export function lengthDelimited(field: number, bytes: Buffer): Buffer {
  const head: number[] = [(field << 3) | 2];
  let n = bytes.length;
  while (n > 0x7f) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  return Buffer.concat([Buffer.from(head), bytes]);
}

/** StreamQuotes: the latest snapshot of each instrument, then every newer live update. */
function streamQuotes(deps: Deps): grpc.handleServerStreamingCall<{ instruments?: string[] }, Snapshot> {
  const { redis, hub, metrics, log } = deps;
  return (call) => {
    let ids: string[];
    try {
      ids = checkInstrumentList(call.request.instruments);
    } catch (err) {
      // grpc-js sends a server stream's status on 'error'; destroy() would end it without one.
      call.emit('error', toStatus(err, false));
      return;
    }
    // Updates that arrive while snapshots are read wait here, then go out after them.
    let pending: Buffer[] | undefined = [];
    const sentAt = new Map<string, number>();
    const forward = (bytes: Buffer): void => {
      let s: Snapshot;
      try {
        s = snapshotCodec.decode(bytes);
      } catch {
        return;
      }
      if ((sentAt.get(s.instrumentId) ?? 0) > s.timeMs) return;
      sentAt.set(s.instrumentId, s.timeMs);
      call.write(s);
    };
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      metrics.streamSubscribers.dec();
    };
    metrics.streamSubscribers.inc();
    call.on('cancelled', close);
    call.on('close', close);
    call.on('error', close);
    hub
      .subscribe(ids, (bytes) => {
        if (pending) pending.push(bytes);
        else forward(bytes);
      })
      .then(async (remove) => {
        unsubscribe = remove;
        if (closed) return remove();
        const snaps = await readLatest(redis, ids);
        for (const bytes of snaps.values()) forward(bytes);
        const queued = pending ?? [];
        pending = undefined;
        for (const bytes of queued) if (![...snaps.values()].some((b) => b.equals(bytes))) forward(bytes);
      })
      .catch((err: unknown) => {
        metrics.redisErrors.inc({ operation: 'stream' });
        log.warn({ err }, 'StreamQuotes: Redis unavailable');
        call.emit('error', grpcError(grpc.status.UNAVAILABLE, `live quotes unavailable: ${(err as Error).message}`));
        close();
      });
  };
}

export function marketDataImplementation(deps: Deps): grpc.UntypedServiceImplementation {
  const { reader, chains } = deps;
  const getTicks = unary(deps, 'GetTicks', parseTicksRequest, async (q, ctx) => {
    const page = await reader.ticks(ctx, q);
    return { ticks: page.ticks, nextPageToken: page.more && page.last ? encodePageToken(q, page.last) : '' };
  });
  const getRecentTicks = unary(deps, 'GetRecentTicks', parseRecentTicksRequest, async (q, ctx) => ({
    ticks: await reader.recentTicks(ctx, q),
  }));
  const getBars = unary(deps, 'GetBars', parseBarsRequest, async (q, ctx) => ({ bars: await reader.bars(ctx, q) }));
  const getGaps = unary(deps, 'GetGaps', parseGapsRequest, async (q, ctx) => ({ gaps: await reader.gaps(ctx, q) }));
  const getOptionChain = unary(
    deps,
    'GetOptionChain',
    parseChainRequest,
    (q, ctx): Promise<Buffer | OptionChain> => (chains ? chains.get(q) : reader.optionChain(ctx, q)),
  );

  return {
    GetLatest: getLatest(deps),
    GetTicks: getTicks,
    GetRecentTicks: getRecentTicks,
    GetBars: getBars,
    GetOptionChain: getOptionChain,
    StreamQuotes: streamQuotes(deps),
    GetGaps: getGaps,
  } as grpc.UntypedServiceImplementation;
}

/**
 * MarketData's definition, where GetLatest and GetOptionChain may answer with bytes already encoded
 * (from Redis, from the chain cache): a Buffer passes through, an object is serialised as usual.
 */
export function marketDataDefinition(): grpc.ServiceDefinition {
  const def = { ...serviceDefinition('MarketData') };
  for (const name of ['GetLatest', 'GetOptionChain']) {
    const m = def[name];
    if (!m) throw new Error(`proto/: MarketData has no ${name}`);
    const serialize = m.responseSerialize;
    def[name] = { ...m, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) };
  }
  return def;
}

/** stockify.v1.MarketData as a service of the shard's gRPC server. */
export function marketDataService(deps: Deps): GrpcService {
  return {
    name: 'stockify.v1.MarketData',
    definition: marketDataDefinition(),
    implementation: marketDataImplementation(deps),
  };
}

/** The chain cache of a storage process, fed by the shared live hub and Redis. */
export function chainCache(reader: HistoryReader, redis: Redis, hub: LiveHub): ChainCache {
  const encode = serviceDefinition('MarketData').GetOptionChain?.responseSerialize;
  if (!encode) throw new Error('proto/: MarketData has no GetOptionChain');
  return new ChainCache({
    source: reader,
    live: { subscribe: (ids, l) => hub.subscribe(ids, l), latest: (ids) => readLatest(redis, ids) },
    decode: (b) => snapshotCodec.decode(b),
    encode: (c) => encode(c) as Buffer,
  });
}
