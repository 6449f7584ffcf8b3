// `stockify gateway`: REST + OpenAPI, WebSocket and SSE for apps and browsers in front of one
// MarketFeed. A client of MarketData over gRPC (the <feed>-grpc Service) and of Redis live:* for
// streaming; serves the web console's files at / when CONSOLE_DIR exists.
import * as grpc from '@grpc/grpc-js';
import { Authenticator } from '../core/auth.ts';
import { CONFIG_EXIT_CODE, ConfigError } from '../core/config.ts';
import { exitEvenIfHandlesLinger, Lifecycle } from '../core/lifecycle.ts';
import { createLogger } from '../core/log.ts';
import type { ShardStatus } from '../core/messages.ts';
import { createRegistry } from '../core/metrics.ts';
import { serviceClient } from '../core/proto.ts';
import { MarketDataQuery } from '../query/client.ts';
import { buildGateway, type StatusReport } from './app.ts';
import { Catalogue } from './catalogue.ts';
import { type GatewayConfig, loadGatewayConfig } from './config.ts';
import { DEFAULT_CONSOLE_DIR } from './console/serve.ts';
import { LiveHub } from './live.ts';
import { redisConnection } from './redis.ts';

const USAGE = `Usage: stockify gateway

Serves a MarketFeed to apps and browsers on HTTP_PORT: REST (/v1/...), OpenAPI 3.1 at /openapi.json,
live quotes over WebSocket (/v1/ws) and SSE (/v1/stream), /healthz, /readyz, /metrics, and the web
console at / when CONSOLE_DIR exists.

Environment:
  REDIS_URL, FEED_NAME, FEED_NAMESPACE, LOG_LEVEL
  HTTP_PORT (8080)                 where to listen
  MARKETDATA_ENDPOINT (localhost:50051)  MarketData gRPC (the <feed>-grpc Service)
  STATUS_ENDPOINTS                 host:port,... of shard processes for /v1/status (default: MARKETDATA_ENDPOINT)
  CORS_ORIGINS                     allowed browser origins, comma-separated (none by default)
  RATE_LIMIT_PER_MINUTE (1200)     requests per minute per token (per address without auth)
  LIVE_HIGH_WATER_BYTES (262144), LIVE_MAX_BEHIND_MS (10000), LIVE_MAX_INSTRUMENTS (1000)
                                   back-pressure of a live connection: conflate above the mark,
                                   close (4008) when behind longer than the limit
  AUTH_HS256_SECRET | AUTH_HS256_SECRET_FILE | AUTH_JWKS_URL, AUTH_AUDIENCE (stockify), AUTH_ISSUER,
  AUTH_DEFAULT_SCOPES ("read stream")  bearer-token auth (spec.auth); off when none is set
  CONSOLE_DIR                      built web console files (default: dist/console of the source
                                   tree, where make console writes them)`;

async function shardStatuses(endpoints: readonly string[]): Promise<StatusReport> {
  const Ctor = serviceClient('Shard');
  const results = await Promise.all(
    endpoints.map(
      (endpoint) =>
        new Promise<{ endpoint: string; status?: ShardStatus; error?: string }>((resolve) => {
          const client = new Ctor(endpoint, grpc.credentials.createInsecure());
          (client as unknown as { GetStatus: grpc.requestCallback<ShardStatus> & ((...a: unknown[]) => void) }).GetStatus(
            {},
            { deadline: Date.now() + 3000 },
            (err: grpc.ServiceError | null, status?: ShardStatus) => {
              client.close();
              resolve(
                err
                  ? { endpoint, error: `${grpc.status[err.code]}: ${err.details}` }
                  : { endpoint, ...(status ? { status } : {}) },
              );
            },
          );
        }),
    ),
  );
  return {
    shards: results.flatMap((r) => (r.status ? [r.status] : [])),
    unreachable: results.flatMap((r) => (r.error ? [{ endpoint: r.endpoint, error: r.error }] : [])),
  };
}

export async function run(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return CONFIG_EXIT_CODE;
  }
  const labels = { feed: config.FEED_NAME, namespace: config.FEED_NAMESPACE };
  const log = createLogger({ component: 'gateway', level: config.LOG_LEVEL, base: labels });
  const lifecycle = new Lifecycle(log);
  const registry = createRegistry({ component: 'gateway', ...labels });
  try {
    const redis = redisConnection(config.REDIS_URL, `stockify-gateway-${config.FEED_NAME}`, log);
    const sub = redisConnection(config.REDIS_URL, `stockify-gateway-${config.FEED_NAME}-sub`, log);
    lifecycle.onStop('redis', () => {
      redis.disconnect();
      sub.disconnect();
    });
    const marketData = new MarketDataQuery(config.MARKETDATA_ENDPOINT, 10);
    lifecycle.onStop('MarketData client', () => marketData.close());
    const statusEndpoints = config.STATUS_ENDPOINTS.length > 0 ? config.STATUS_ENDPOINTS : [config.MARKETDATA_ENDPOINT];
    const app = await buildGateway({
      marketData,
      status: () => shardStatuses(statusEndpoints),
      redis,
      hub: new LiveHub(sub),
      catalogue: new Catalogue(redis),
      auth: config.auth ? new Authenticator(config.auth) : undefined,
      corsOrigins: config.CORS_ORIGINS,
      rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
      live: {
        highWaterBytes: config.LIVE_HIGH_WATER_BYTES,
        maxBehindMs: config.LIVE_MAX_BEHIND_MS,
        maxInstruments: config.LIVE_MAX_INSTRUMENTS,
      },
      staticDir: config.CONSOLE_DIR ?? DEFAULT_CONSOLE_DIR,
      log,
      registry,
      ready: () => redis.status === 'ready' && sub.status === 'ready',
    });
    lifecycle.onStop('HTTP server', () => app.close());
    const address = await app.listen({ port: config.HTTP_PORT, host: '0.0.0.0' });
    log.info(
      { address, marketData: config.MARKETDATA_ENDPOINT, auth: config.auth ? (config.auth.secret ? 'hs256' : 'jwks') : 'off' },
      'gateway listening',
    );
  } catch (err) {
    log.error({ err }, 'gateway failed to start');
    await lifecycle.stop();
    process.stderr.write(`stockify: gateway: ${err instanceof Error ? err.message : String(err)}\n`);
    exitEvenIfHandlesLinger(log);
    return 1;
  }
  await lifecycle.handleSignals();
  exitEvenIfHandlesLinger(log);
  return 0;
}
