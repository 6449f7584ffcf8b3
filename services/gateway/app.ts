// The gateway's HTTP surface, built as a Fastify instance from its dependencies (no I/O of its own):
// REST over MarketData gRPC, WebSocket and SSE over Redis live:*, bearer-token auth with scopes,
// per-token rate limits, CORS, OpenAPI 3.1 at /openapi.json and the web console's files at /.
import { existsSync } from 'node:fs';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Authenticator, Principal, Scope } from '../core/auth.ts';
import type { Logger } from '../core/log.ts';
import type { GammaExposure, OptionChain } from '../core/messages.ts';
import type { MarketDataQuery } from '../query/client.ts';
import { type Catalogue, search } from './catalogue.ts';
import { serveConsole } from './console/serve.ts';
import { fastPathIds, LatestReader } from './latest.ts';
import {
  CLOSE_POLICY,
  type LiveEncoding,
  type LiveFormat,
  type LiveHub,
  LiveSession,
  type LiveTransport,
  readLatest,
  type SessionOptions,
} from './live.ts';
import { PROBLEM_TYPE, type Problem, problem, problemOfGrpc } from './problem.ts';
import * as S from './schemas.ts';

export interface StatusReport {
  shards: unknown[];
  unreachable: { endpoint: string; error: string }[];
}

export interface GatewayDeps {
  marketData: MarketDataQuery;
  status: () => Promise<StatusReport>;
  redis: Redis;
  hub: LiveHub;
  catalogue: Catalogue;
  /** Off (no token needed) when undefined. */
  auth: Authenticator | undefined;
  corsOrigins: readonly string[];
  /** Requests per minute per token (per client address without auth). */
  rateLimitPerMinute: number;
  live: SessionOptions;
  /** The web console's built files, served at / when the directory exists. */
  staticDir: string | undefined;
  log: Logger;
  registry: Registry;
  ready: () => boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The caller's token, forwarded to MarketData (never logged). */
    bearer?: string;
  }
  interface FastifyContextConfig {
    /** Scope a route needs; open routes (health, metrics, OpenAPI, console) have none. */
    scope?: Scope;
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply.code(p.status).type(PROBLEM_TYPE).send(p);
}

/** The field a Fastify validation error names: a missing property or the parameter path. */
function validationField(err: {
  validation?: { instancePath?: string; params?: Record<string, unknown> }[];
}): string | undefined {
  const v = err.validation?.[0];
  const missing = v?.params?.missingProperty;
  if (typeof missing === 'string') return missing;
  return v?.instancePath?.replace(/^\//, '') || undefined;
}

const ids = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The OptionChain of MarketData as the console reads it. */
export function chainView(chain: OptionChain, expiries: string[]) {
  const gex = chain.gex ? gexView(chain.gex) : null;
  return {
    underlyingId: chain.underlyingId,
    expiry: chain.expiry,
    spot: chain.spot,
    expiries,
    netGex: chain.gex?.netGex ?? 0,
    zeroGamma: gex?.zeroGamma ?? null,
    contracts: chain.quotes.map((q) => ({
      id: q.instrument.id,
      symbol: q.instrument.symbol,
      strike: q.meta.strike,
      optionType: q.meta.optionType,
      price: q.price,
      bid: q.bidPrice,
      ask: q.askPrice,
      iv: q.ivAvailable ? q.iv : null,
      delta: q.delta,
      gamma: q.gamma,
      theta: q.theta,
      vega: q.vega,
      openInterest: q.openInterest,
      volume: q.volume,
      gex: q.gex,
      timeMs: q.exchangeTimeMs,
    })),
    gex,
  };
}

export function gexView(g: GammaExposure) {
  return {
    underlyingId: g.underlyingId,
    expiry: g.expiry,
    timeMs: g.timeMs,
    spot: g.spot,
    netGex: g.netGex,
    callGex: g.callGex,
    putGex: g.putGex,
    zeroGamma: g.zeroGammaAvailable ? g.zeroGammaLevel : null,
    strikes: g.strikes,
  };
}

function gatewayMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'stockify_gateway_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'stockify_gateway_http_request_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['route'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    connections: new Gauge({
      name: 'stockify_gateway_live_connections',
      help: 'Open live connections by transport',
      labelNames: ['transport'],
      registers: [registry],
    }),
    conflated: new Counter({
      name: 'stockify_gateway_live_conflated_total',
      help: 'Live updates replaced by a newer one before a slow client took them',
      registers: [registry],
    }),
    cut: new Counter({
      name: 'stockify_gateway_live_cut_total',
      help: 'Live connections closed because they stayed behind',
      registers: [registry],
    }),
    refused: new Counter({
      name: 'stockify_gateway_auth_refused_total',
      help: 'Requests refused by auth, by HTTP status',
      labelNames: ['status'],
      registers: [registry],
    }),
  };
}

export async function buildGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const { app, metrics } = createApp(deps);
  await registerPlugins(app, deps, metrics);
  registerErrors(app, metrics);
  openRoutes(app, deps);
  restRoutes(app, deps);
  sseRoute(app, deps, metrics);
  wsRoute(app, deps, metrics);
  if (deps.staticDir && existsSync(deps.staticDir)) {
    await serveConsole(app, { dir: deps.staticDir, auth: deps.auth !== undefined });
  } else {
    app.get('/', { schema: { hide: true } }, async () => ({ name: 'stockify gateway', openapi: '/openapi.json' }));
  }
  return app;
}

type Metrics = ReturnType<typeof gatewayMetrics>;

function createApp(deps: GatewayDeps): { app: FastifyInstance; metrics: Metrics } {
  const { log } = deps;
  const metrics = gatewayMetrics(deps.registry);
  for (const t of ['websocket', 'sse']) metrics.connections.set({ transport: t }, 0);
  for (const s of ['401', '403']) metrics.refused.inc({ status: s }, 0);
  // Fastify's own request log prints the URL, which may carry ?access_token=: ours redacts it.
  const app = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { coerceTypes: true } },
  });
  app.addSchema(S.problemSchema);
  app.addSchema(S.snapshotSchema);

  return { app, metrics };
}

async function registerPlugins(app: FastifyInstance, deps: GatewayDeps, metrics: Metrics): Promise<void> {
  await app.register(fastifySwagger, {
    // Shared schemas under their own names (Problem, Snapshot) in components.schemas.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Stockify gateway',
        version: 'v1',
        description:
          'REST, WebSocket and SSE access to a MarketFeed. Times are epoch milliseconds UTC; prices in rupees; IV and Greeks per unit; GEX in rupees per 1 % spot move. Errors are RFC 9457 problem details.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    // @fastify/websocket hides its routes from the document; /v1/ws is part of the API, so it is added.
    transformObject: (doc) => {
      const api = (doc as { openapiObject: { paths?: Record<string, unknown> } }).openapiObject;
      if (api.paths) api.paths['/v1/ws'] = S.wsOpenApiPath;
      return api as never;
    },
  });
  await app.register(fastifyCors, { origin: deps.corsOrigins.length > 0 ? [...deps.corsOrigins] : false });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });

  // Auth before the rate limit (onRequest), so the limit is counted per token.
  app.addHook('onRequest', async (req, reply) => {
    const scope = req.routeOptions.config.scope;
    if (!scope || !deps.auth) return;
    const header = req.headers.authorization ?? accessTokenHeader(req);
    const outcome = await deps.auth.authenticate(header, scope);
    if (!outcome.ok) {
      metrics.refused.inc({ status: String(outcome.status) });
      req.log.info({ route: req.routeOptions.url, status: outcome.status, reason: outcome.reason }, 'request refused');
      if (outcome.status === 401) reply.header('www-authenticate', 'Bearer realm="stockify"');
      return sendProblem(reply, problem(outcome.status, outcome.reason));
    }
    req.principal = outcome.principal;
    req.bearer = header?.replace(/^Bearer\s+/i, '');
  });
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'preHandler',
    max: deps.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => req.principal?.key ?? req.ip,
    allowList: (req) => !req.routeOptions.config.scope,
    errorResponseBuilder: (_req, ctx) =>
      Object.assign(new Error(`rate limit of ${ctx.max} requests per minute reached; retry in ${Math.ceil(ctx.ttl / 1000)} s`), {
        statusCode: 429,
      }),
  });
}

function registerErrors(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((err, req, reply) => {
    const e = err as { validation?: unknown[]; statusCode?: number; message: string; code?: unknown };
    if (e.validation) return sendProblem(reply, problem(400, e.message, validationField(err as never)));
    if (e.statusCode === 429) return sendProblem(reply, problem(429, e.message));
    if (typeof e.code === 'number') {
      const p = problemOfGrpc(err);
      if (p.status >= 500) req.log.warn({ route: req.routeOptions.url, detail: p.detail }, 'MarketData call failed');
      return sendProblem(reply, p);
    }
    if (e.statusCode && e.statusCode < 500) return sendProblem(reply, problem(e.statusCode, e.message));
    req.log.error({ err, route: req.routeOptions.url }, 'gateway request failed');
    return sendProblem(reply, problem(500, e.message));
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problem(404, `no route ${req.method} ${req.url.split('?')[0]}`)));
}

function openRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) =>
    deps.ready() ? { status: 'ready' } : sendProblem(reply, problem(503, 'Redis not connected')),
  );
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(deps.registry.contentType).send(await deps.registry.metrics()),
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

function restRoutes(app: FastifyInstance, deps: GatewayDeps): void {
  // Without a token (auth off) every request shares the one client: no per-request copy.
  const md = (req: FastifyRequest): MarketDataQuery => (req.bearer ? deps.marketData.withToken(req.bearer) : deps.marketData);
  const read = { config: { scope: 'read' as const } };

  const latest = new LatestReader((list) => readLatest(deps.redis, list));
  app.get<{ Querystring: { instruments: string } }>('/v1/latest', { ...read, schema: S.latestRoute }, async (req, reply) => {
    const list = ids(req.query.instruments);
    const fast = fastPathIds(list);
    // Redis has them all: its JSON as is. Otherwise (or Redis down) MarketData answers the whole list.
    const body = fast && (await latest.json(fast).catch(() => undefined));
    return body ? reply.type('application/json; charset=utf-8').send(body) : md(req).latest(list);
  });

  type Range = { from?: number; to?: number };
  app.get<{ Params: { id: string }; Querystring: Range & { limit?: number; page_token?: string } }>(
    '/v1/instruments/:id/ticks',
    { ...read, schema: S.ticksRoute },
    async (req) => {
      const now = Date.now();
      const res = await md(req).ticks({
        instrument: req.params.id,
        fromMs: req.query.from ?? now - HOUR_MS,
        toMs: req.query.to ?? now,
        limit: req.query.limit ?? 100,
        pageToken: req.query.page_token ?? '',
      });
      return { ticks: res.ticks, next_page_token: res.nextPageToken };
    },
  );
  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/v1/instruments/:id/ticks/recent',
    { ...read, schema: S.recentRoute },
    async (req) => md(req).recentTicks({ instrument: req.params.id, limit: req.query.limit ?? 100 }),
  );
  app.get<{ Params: { id: string }; Querystring: Range & { interval?: string } }>(
    '/v1/instruments/:id/bars',
    { ...read, schema: S.barsRoute },
    async (req) => {
      const now = Date.now();
      return md(req).bars({
        instrument: req.params.id,
        fromMs: req.query.from ?? now - DAY_MS,
        toMs: req.query.to ?? now,
        interval: req.query.interval ?? '1m',
      });
    },
  );
  app.get<{ Params: { underlying: string }; Querystring: { expiry?: string } }>(
    '/v1/chains/:underlying',
    { ...read, schema: S.chainRoute },
    async (req) => {
      const [chain, expiries] = await Promise.all([
        md(req).optionChain({ underlying: req.params.underlying, expiry: req.query.expiry ?? '' }),
        deps.catalogue.expiries(req.params.underlying).catch(() => []),
      ]);
      return chainView(chain, expiries.length > 0 ? expiries : [chain.expiry]);
    },
  );
  app.get<{ Params: { underlying: string }; Querystring: { expiry?: string } }>(
    '/v1/gex/:underlying',
    { ...read, schema: S.gexRoute },
    async (req, reply) => {
      const chain = await md(req).optionChain({ underlying: req.params.underlying, expiry: req.query.expiry ?? '' });
      if (!chain.gex)
        return sendProblem(
          reply,
          problem(404, `no gamma exposure stored for ${chain.underlyingId} ${chain.expiry}`, 'underlying'),
        );
      return gexView(chain.gex);
    },
  );
  app.get<{ Querystring: { prefix: string; limit?: number } }>(
    '/v1/instruments',
    { ...read, schema: S.instrumentsRoute },
    async (req) => ({
      instruments: search(await deps.catalogue.all(), req.query.prefix, req.query.limit ?? 20),
    }),
  );
  app.get('/v1/status', { ...read, schema: S.statusRoute }, async () => deps.status());
  app.get<{ Querystring: Range & { instrument?: string } }>('/v1/gaps', { ...read, schema: S.gapsRoute }, async (req) => {
    const now = Date.now();
    return md(req).gaps({
      fromMs: req.query.from ?? now - DAY_MS,
      toMs: req.query.to ?? now,
      instrument: req.query.instrument ?? '',
    });
  });
}

function sseRoute(app: FastifyInstance, deps: GatewayDeps, metrics: Metrics): void {
  // Live: SSE.
  app.get<{ Querystring: { instruments: string } }>(
    '/v1/stream',
    { config: { scope: 'stream' }, schema: S.streamRoute },
    async (req, reply) => {
      const list = ids(req.query.instruments);
      const bad = list.find((id) => !/^[A-Z_]+:[A-Za-z0-9._-]+$/.test(id));
      if (bad)
        return sendProblem(reply, problem(400, `instruments: '${bad}' is not an instrument id like IDX_I:13`, 'instruments'));
      if (list.length > deps.live.maxInstruments)
        return sendProblem(reply, problem(400, `instruments: at most ${deps.live.maxInstruments} per connection`, 'instruments'));
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        ...corsHeaders(req, deps.corsOrigins),
      });
      res.write(': stockify live\n\n');
      const transport: LiveTransport = {
        buffered: () => res.writableLength,
        send: (payload) => res.write(payload), // already an SSE event (LiveMessage.encode('sse'))
        cork: () => res.cork(),
        uncork: () => res.uncork(),
        close: (_code, reason) => {
          res.end(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
        },
      };
      const session = liveSession(deps, transport, 'sse', metrics);
      metrics.connections.inc({ transport: 'sse' });
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      res.on('close', () => {
        clearInterval(ping);
        session.close();
        metrics.connections.dec({ transport: 'sse' });
      });
      try {
        await session.subscribe(list);
      } catch (err) {
        transport.close(CLOSE_POLICY, (err as Error).message);
      }
    },
  );
}

function wsRoute(app: FastifyInstance, deps: GatewayDeps, metrics: Metrics): void {
  // Live: WebSocket.
  app.get<{ Querystring: { format?: LiveFormat } }>(
    '/v1/ws',
    { websocket: true, config: { scope: 'stream' }, schema: S.wsRoute },
    (socket, req) => {
      const format: LiveFormat = req.query.format === 'protobuf' ? 'protobuf' : 'json';
      // JSON goes out as text frames, protobuf as binary; the payload is shared by every connection.
      const frameAs = { binary: format === 'protobuf' };
      const transport: LiveTransport = {
        buffered: () => socket.bufferedAmount,
        send: (payload) => socket.send(payload, frameAs),
        // The upgraded request's TCP socket is the one the WebSocket writes to.
        cork: () => req.raw.socket.cork(),
        uncork: () => req.raw.socket.uncork(),
        close: (code, reason) => socket.close(code, reason.slice(0, 120)),
      };
      const session = liveSession(deps, transport, format, metrics);
      metrics.connections.inc({ transport: 'websocket' });
      const reply = (msg: object) => socket.send(JSON.stringify(msg));
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        const parsed = parseClientMessage(isBinary ? undefined : data.toString());
        if (!parsed.ok) {
          reply({ type: 'error', problem: problem(400, parsed.detail, parsed.field) });
          return;
        }
        const { op, instruments } = parsed;
        if (op === 'unsubscribe') {
          session.unsubscribe(instruments);
          reply({ type: 'unsubscribed', instruments });
          return;
        }
        session.subscribe(instruments).then(
          () => reply({ type: 'subscribed', instruments: session.instruments }),
          (err: Error) => reply({ type: 'error', problem: problem(400, err.message, 'instruments') }),
        );
      });
      socket.on('close', () => {
        session.close();
        metrics.connections.dec({ transport: 'websocket' });
      });
    },
  );
}

function liveSession(
  deps: GatewayDeps,
  transport: LiveTransport,
  encoding: LiveEncoding,
  metrics: ReturnType<typeof gatewayMetrics>,
) {
  return new LiveSession({
    hub: deps.hub,
    redis: deps.redis,
    transport,
    encoding,
    options: deps.live,
    counters: { conflated: (n) => metrics.conflated.inc(n), cut: () => metrics.cut.inc() },
  });
}

/** `?access_token=` as an Authorization header: browsers cannot set headers on WebSocket or EventSource. */
function accessTokenHeader(req: FastifyRequest): string | undefined {
  const q = req.query as { access_token?: unknown } | undefined;
  return typeof q?.access_token === 'string' ? `Bearer ${q.access_token}` : undefined;
}

/** A hijacked SSE reply bypasses @fastify/cors: the same allow-list, applied by hand. */
function corsHeaders(req: FastifyRequest, origins: readonly string[]): Record<string, string> {
  const origin = req.headers.origin;
  return origin && origins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'Origin' } : {};
}

export type ClientMessage =
  | { ok: true; op: 'subscribe' | 'unsubscribe'; instruments: string[] }
  | { ok: false; detail: string; field: string };

/** A WebSocket client message, checked once at the edge. */
export function parseClientMessage(text: string | undefined): ClientMessage {
  if (text === undefined) return { ok: false, detail: 'messages are JSON text, not binary', field: 'op' };
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { ok: false, detail: 'message is not JSON', field: 'op' };
  }
  const { op, instruments } = (msg ?? {}) as { op?: unknown; instruments?: unknown };
  if (op !== 'subscribe' && op !== 'unsubscribe')
    return { ok: false, detail: `op must be "subscribe" or "unsubscribe", got ${JSON.stringify(op)}`, field: 'op' };
  if (!Array.isArray(instruments) || instruments.length === 0)
    return { ok: false, detail: 'instruments must be a non-empty array of instrument ids', field: 'instruments' };
  const bad = instruments.find((i) => typeof i !== 'string' || !/^[A-Z_]+:[A-Za-z0-9._-]+$/.test(i));
  if (bad !== undefined)
    return {
      ok: false,
      detail: `instruments: ${JSON.stringify(bad)} is not an instrument id like IDX_I:13`,
      field: 'instruments',
    };
  return { ok: true, op, instruments: instruments as string[] };
}
