// The gateway against a real pipeline tail: Kafka → a real `stockify storage` process (PostgreSQL,
// Redis) → a real `stockify gateway` process, both with spec.auth's HS256 secret set. REST answers
// match what was produced, live updates produced to Kafka reach WebSocket (JSON and protobuf) and
// SSE clients, auth refuses with 401/403 on HTTP and UNAUTHENTICATED/PERMISSION_DENIED on gRPC.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as jose from 'jose';
import type pg from 'pg';
import WebSocket from 'ws';
import type { Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { bar, gex, quote, rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, DATABASE_URL, deleteRedisKeys, dropSchema, REDIS_URL, testPool, uniqueName } from '../storage/helpers.ts';
import {
  call,
  createFeed,
  deleteTopics,
  type Feed,
  marketDataClient,
  produce,
  type StorageProcess,
  startStorage,
  waitFor,
} from '../storage/process.ts';

const CLI = fileURLToPath(new URL('../../../services/cli.ts', import.meta.url));
const SECRET = 'gateway-integration-secret-0123456789abcdef';
const KEY = new TextEncoder().encode(SECRET);
const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const HTTP_PORT = 40700 + (RUN % 40);
const GRPC_PORT = 40750 + (RUN % 40);
const UNDERLYING = `IDX_I:${RUN}`;
const SYMBOL = `GW${RUN}`;
const EXPIRY = '2026-11-26';
const STRIKES = [24_900, 25_000, 25_100];
const contract = (i: number, type: 'CALL' | 'PUT'): string => `NSE_FNO:${RUN}${i}${type === 'CALL' ? 1 : 2}`;
const TICKS = 50;
const RATE_LIMIT = 40;
const snapshotCodec = codec<Snapshot>('Snapshot');
const base = `http://127.0.0.1:${HTTP_PORT}`;

let jti = 0;
function token(
  claims: jose.JWTPayload = { scope: 'read stream' },
  opts: { aud?: string; exp?: number | string; key?: Uint8Array } = {},
) {
  return new jose.SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('integration')
    .setJti(`t${RUN}-${++jti}`)
    .setAudience(opts.aud ?? 'stockify')
    .setExpirationTime(opts.exp ?? '10m')
    .sign(opts.key ?? KEY);
}

const ownTick = (seq: number, price = 25_000 + seq, timeMs = T0 + seq * 10) => {
  const t = tick(UNDERLYING, seq, timeMs, price);
  return { ...t, instrument: { ...t.instrument, symbol: SYMBOL } };
};

function market() {
  const out = [];
  for (let s = 1; s <= TICKS; s++) out.push(rec.tick(ownTick(s)));
  for (const [i, strike] of STRIKES.entries()) {
    for (const type of ['CALL', 'PUT'] as const) {
      out.push(rec.quote(quote(contract(i, type), strike, type, 1, { underlying: UNDERLYING, expiry: EXPIRY })));
    }
  }
  out.push(rec.gex(gex(UNDERLYING, T0, EXPIRY)));
  out.push(rec.bar(bar(UNDERLYING, T0)), rec.bar(bar(UNDERLYING, T0 + 60_000)));
  return out;
}

async function get(path: string, bearer?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, {
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, body };
}

describe('gateway over a running storage shard', () => {
  let pool: pg.Pool;
  let schema: string;
  let feed: Feed;
  let storage: StorageProcess | undefined;
  let gateway: ChildProcess | undefined;
  let gatewayOut = '';
  let read = '';

  before(async () => {
    pool = testPool();
    schema = uniqueName('st_gw');
    feed = await createFeed(`gw-${RUN}`);
    await produce(feed.topic, market());
    const auth = { AUTH_HS256_SECRET: SECRET };
    storage = await startStorage(feed, {
      schema,
      databaseUrl: DATABASE_URL,
      grpcPort: GRPC_PORT,
      env: { ...auth, METRICS_PORT: String(GRPC_PORT + 1) },
    });
    await waitFor('rows stored', async () => {
      const ticks = await count(pool, schema, 'ticks').catch(() => 0);
      const quotes = await count(pool, schema, 'option_quotes').catch(() => 0);
      return ticks >= TICKS && quotes >= STRIKES.length * 2 ? true : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output()}`);
    });
    gateway = spawn(process.execPath, [CLI, 'gateway'], {
      env: {
        ...process.env,
        REDIS_URL,
        FEED_NAME: feed.feed,
        FEED_NAMESPACE: feed.namespace,
        HTTP_PORT: String(HTTP_PORT),
        MARKETDATA_ENDPOINT: `127.0.0.1:${GRPC_PORT}`,
        STATUS_ENDPOINTS: `127.0.0.1:${GRPC_PORT}`,
        RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
        CORS_ORIGINS: 'https://console.example.com',
        LOG_LEVEL: 'info',
        ...auth,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stdout?.on('data', (d: Buffer) => {
      gatewayOut += d.toString();
    });
    gateway.stderr?.on('data', (d: Buffer) => {
      gatewayOut += d.toString();
    });
    await waitFor(
      'gateway ready',
      async () => ((await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${gatewayOut}`);
    });
    read = await token({ scope: 'read stream' });
  });

  after(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((r) => gateway?.once('exit', r));
    }
    await storage?.stop();
    await dropSchema(pool, schema);
    await pool.end();
    await deleteTopics(feed);
    feed.cleanup();
    await deleteRedisKeys(`latest:*:${RUN}*`);
  });

  test('GET /v1/latest returns the newest stored snapshot', async () => {
    const r = await get(`/v1/latest?instruments=${UNDERLYING},${contract(0, 'CALL')}`, read);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const snaps = r.body.snapshots as { instrumentId: string; tick?: { lastPrice: number; seq: number } }[];
    assert.deepEqual(
      snaps.map((s) => s.instrumentId),
      [UNDERLYING, contract(0, 'CALL')],
    );
    assert.equal(snaps[0]?.tick?.seq, TICKS);
    assert.equal(snaps[0]?.tick?.lastPrice, 25_000 + TICKS);
  });

  test('GET /v1/latest answers from Redis when it has every id, from MarketData otherwise, with the same JSON', async () => {
    const getLatestCalls = async () => {
      const text = await (await fetch(`http://127.0.0.1:${GRPC_PORT + 1}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('stockify_grpc_server_started_total') && l.includes('method="GetLatest"'));
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const ids = [UNDERLYING, contract(0, 'CALL')];
    const before = await getLatestCalls();
    const fromRedis = await get(`/v1/latest?instruments=${ids.join(',')}`, read);
    assert.equal(fromRedis.type, 'application/json; charset=utf-8');
    assert.equal(await getLatestCalls(), before, 'every id in Redis: no MarketData call');
    // An id Redis lacks sends the whole list to MarketData (which reads PostgreSQL for it).
    const viaMarketData = await get(`/v1/latest?instruments=${ids.join(',')},NSE_EQ:${RUN}999`, read);
    assert.equal(await getLatestCalls(), before + 1);
    assert.equal(fromRedis.status, 200);
    assert.equal(viaMarketData.status, 200);
    assert.deepEqual(fromRedis.body, viaMarketData.body);
  });

  test('ticks, recent ticks, bars, gaps: what was produced', async () => {
    const ticks = await get(`/v1/instruments/${UNDERLYING}/ticks?from=${T0}&to=${T0 + 60_000}&limit=20`, read);
    assert.equal(ticks.status, 200, JSON.stringify(ticks.body));
    assert.equal((ticks.body.ticks as unknown[]).length, 20);
    assert.notEqual(ticks.body.next_page_token, '');
    const page2 = await get(
      `/v1/instruments/${UNDERLYING}/ticks?from=${T0}&to=${T0 + 60_000}&limit=100&page_token=${encodeURIComponent(String(ticks.body.next_page_token))}`,
      read,
    );
    assert.equal((page2.body.ticks as unknown[]).length, TICKS - 20);
    const recent = await get(`/v1/instruments/${UNDERLYING}/ticks/recent?limit=5`, read);
    assert.deepEqual(
      (recent.body.ticks as { seq: number }[]).map((t) => t.seq),
      [50, 49, 48, 47, 46],
    );
    const bars = await get(`/v1/instruments/${UNDERLYING}/bars?from=${T0 - 60_000}&to=${T0 + 120_000}&interval=1m`, read);
    assert.equal(bars.status, 200, JSON.stringify(bars.body));
    assert.equal((bars.body.bars as unknown[]).length, 2);
    const gaps = await get(`/v1/gaps?from=${T0}&to=${T0 + 60_000}&instrument=${UNDERLYING}`, read);
    assert.deepEqual(gaps.body, { gaps: [] });
  });

  test('option chain: contracts with IV and Greeks, net GEX, zero gamma, spot, expiries; GEX alone', async () => {
    const r = await get(`/v1/chains/${UNDERLYING}?expiry=${EXPIRY}`, read);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const contracts = r.body.contracts as { strike: number; optionType: string; delta: number; iv: number | null }[];
    assert.equal(contracts.length, STRIKES.length * 2);
    assert.deepEqual([...new Set(contracts.map((c) => c.strike))].sort(), STRIKES);
    assert.ok(contracts.every((c) => typeof c.delta === 'number' && 'iv' in c));
    assert.equal(r.body.netGex, 2e8);
    assert.equal(r.body.zeroGamma, 24_870.5);
    assert.equal(r.body.expiry, EXPIRY);
    assert.deepEqual(r.body.expiries, [EXPIRY]);
    const g = await get(`/v1/gex/${UNDERLYING}?expiry=${EXPIRY}`, read);
    assert.equal(g.status, 200);
    assert.equal(g.body.netGex, 2e8);
    assert.deepEqual(g.body.strikes, [{ strike: 25_000, callGex: 1.1e9, putGex: -0.9e9 }]);
  });

  test('instrument search by symbol prefix; status from the shard process', async () => {
    const r = await get(`/v1/instruments?prefix=${SYMBOL.toLowerCase()}`, read);
    assert.equal(r.status, 200);
    assert.deepEqual(
      (r.body.instruments as { id: string }[]).map((i) => i.id),
      [UNDERLYING],
    );
    const s = await get('/v1/status', read);
    const shards = s.body.shards as { component: string; feed: string }[];
    assert.deepEqual(
      shards.map((x) => [x.component, x.feed]),
      [['storage', feed.feed]],
    );
  });

  test('client mistakes are RFC 9457 problems naming the field, MarketData codes mapped', async () => {
    const cases: [string, number, string | undefined][] = [
      ['/v1/latest', 400, 'instruments'],
      [`/v1/instruments/${UNDERLYING}/ticks?from=yesterday`, 400, 'from'],
      ['/v1/instruments/nifty/ticks/recent', 400, 'id'],
      [`/v1/instruments/${UNDERLYING}/bars?interval=2m`, 400, 'interval'],
      [`/v1/chains/${UNDERLYING}?expiry=2026-02-30`, 400, 'expiry'],
      [`/v1/instruments/${UNDERLYING}/ticks?from=${T0 + 1000}&to=${T0}`, 400, 'from'],
      [`/v1/chains/IDX_I:${RUN}999`, 404, undefined],
      ['/v1/nothing', 404, undefined],
    ];
    for (const [path, status, field] of cases) {
      const r = await get(path, await token());
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      assert.match(r.type, /^application\/problem\+json/, path);
      assert.equal(r.body.status, status, path);
      assert.equal(typeof r.body.detail, 'string', path);
      if (field) assert.equal(r.body.field, field, `${path}: ${JSON.stringify(r.body)}`);
    }
  });

  test('auth on HTTP: 401 without or with a bad token, 403 without the scope; open routes stay open', async () => {
    const path = `/v1/latest?instruments=${UNDERLYING}`;
    const none = await get(path);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.match(none.type, /problem\+json/);
    const expired = await get(path, await token({ scope: 'read' }, { exp: Math.floor(Date.now() / 1000) - 120 }));
    assert.equal(expired.status, 401);
    assert.match(String(expired.body.detail), /expired/);
    assert.equal((await get(path, await token({ scope: 'read' }, { aud: 'someone-else' }))).status, 401);
    const forged = await token({ scope: 'read' }, { key: new TextEncoder().encode('not-the-secret-but-long-enough-1234567') });
    assert.equal((await get(path, forged)).status, 401);
    const streamOnly = await get(path, await token({ scope: 'stream' }));
    assert.equal(streamOnly.status, 403);
    assert.match(String(streamOnly.body.detail), /scope 'read'/);
    const readOnlySse = await get(`/v1/stream?instruments=${UNDERLYING}`, await token({ scope: 'read' }));
    assert.equal(readOnlySse.status, 403);
    for (const open of ['/healthz', '/readyz', '/openapi.json', '/metrics']) assert.equal((await get(open)).status, 200, open);
    assert.ok(!gatewayOut.includes(read.split('.')[2] ?? '?'), 'no token in the gateway log');
  });

  test('auth on gRPC: MarketData needs the same token (UNAUTHENTICATED, PERMISSION_DENIED, OK)', async () => {
    const client = marketDataClient(GRPC_PORT);
    const latest = (bearer?: string) => {
      const md = new grpc.Metadata();
      if (bearer) md.set('authorization', `Bearer ${bearer}`);
      return new Promise<unknown>((resolve, reject) =>
        (client as unknown as Record<string, (...a: unknown[]) => void>).GetLatest?.(
          { instruments: [UNDERLYING] },
          md,
          { deadline: Date.now() + 5000 },
          (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)),
        ),
      );
    };
    await assert.rejects(latest(), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
    await assert.rejects(
      latest(await token({ scope: 'ingest' })),
      (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED,
    );
    const ok = (await latest(await token({ scope: 'read' }))) as { snapshots: unknown[] };
    assert.equal(ok.snapshots.length, 1);
    // The server stream too: StreamQuotes needs 'stream'.
    const stream = async (bearer?: string) => {
      const md = new grpc.Metadata();
      if (bearer) md.set('authorization', `Bearer ${bearer}`);
      const call = (
        client as unknown as { StreamQuotes(r: unknown, m: grpc.Metadata): grpc.ClientReadableStream<unknown> }
      ).StreamQuotes({ instruments: [UNDERLYING] }, md);
      return new Promise<number>((resolve) => {
        call.once('data', () => {
          call.cancel();
          resolve(grpc.status.OK);
        });
        call.once('error', (e: grpc.ServiceError) => resolve(e.code));
      });
    };
    assert.equal(await stream(), grpc.status.UNAUTHENTICATED);
    assert.equal(await stream(await token({ scope: 'read' })), grpc.status.PERMISSION_DENIED);
    assert.equal(await stream(await token({ scope: 'stream' })), grpc.status.OK);
    // Shard status stays open (probes and the gateway's /v1/status call it without a token).
    const Shard = (await import('../../../services/core/proto.ts')).serviceClient('Shard');
    const shard = new Shard(`127.0.0.1:${GRPC_PORT}`, grpc.credentials.createInsecure());
    const status = await call<{ component: string }>(shard, 'GetStatus', {});
    assert.equal(status.component, 'storage');
    shard.close();
    client.close();
  });

  test('OpenAPI 3.1 lists every route with documented parameters and the bearer scheme', async () => {
    const r = await get('/openapi.json');
    assert.equal(r.body.openapi, '3.1.0');
    const paths = Object.keys(r.body.paths as object).sort();
    for (const p of [
      '/v1/latest',
      '/v1/instruments/{id}/ticks',
      '/v1/instruments/{id}/ticks/recent',
      '/v1/instruments/{id}/bars',
      '/v1/chains/{underlying}',
      '/v1/gex/{underlying}',
      '/v1/instruments',
      '/v1/status',
      '/v1/gaps',
      '/v1/stream',
      '/v1/ws',
    ])
      assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
    const schemes = (r.body.components as { securitySchemes: Record<string, { scheme: string }> }).securitySchemes;
    assert.equal(schemes.bearer?.scheme, 'bearer');
    assert.ok((r.body.components as { schemas: Record<string, unknown> }).schemas.Problem);
  });

  test('CORS: an allowed origin is echoed, another is not', async () => {
    const ok = await get('/v1/latest?instruments=IDX_I:1', read, { origin: 'https://console.example.com' });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://console.example.com');
    const other = await get('/v1/latest?instruments=IDX_I:1', read, { origin: 'https://evil.example.com' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  test('WebSocket: snapshot on subscribe, then a tick produced to Kafka arrives through storage and Redis', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${HTTP_PORT}/v1/ws?access_token=${read}`);
    const messages: { type: string; snapshot?: { tick?: { seq: number; lastPrice: number } }; instruments?: string[] }[] = [];
    let binaryFrames = 0;
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) binaryFrames++;
      messages.push(JSON.parse(d.toString()));
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ op: 'subscribe', instruments: [UNDERLYING] }));
    await waitFor('snapshot', async () => (messages.some((m) => m.type === 'quote') ? true : undefined), 10_000);
    assert.equal(messages.find((m) => m.type === 'quote')?.snapshot?.tick?.seq, TICKS);
    const produced = Date.now();
    await produce(feed.topic, [rec.tick(ownTick(TICKS + 1, 26_000, T0 + 100_000))]);
    const live = await waitFor('live tick', async () => messages.find((m) => m.snapshot?.tick?.seq === TICKS + 1), 30_000, 20);
    const ms = Date.now() - produced;
    assert.equal(live.snapshot?.tick?.lastPrice, 26_000);
    process.stdout.write(`# Kafka produce → WebSocket client: ${ms} ms\n`);
    assert.equal(binaryFrames, 0, 'JSON quotes are text frames');
    ws.send('{"op":"subscribe","instruments":["bad id"]}');
    await waitFor('error reply', async () => (messages.some((m) => m.type === 'error') ? true : undefined), 5_000);
    ws.close();
  });

  test('WebSocket ?format=protobuf sends stockify.v1.Snapshot bytes; SSE streams the same snapshot', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${HTTP_PORT}/v1/ws?format=protobuf`, {
      headers: { authorization: `Bearer ${read}` },
    });
    const frames: Buffer[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (isBinary) frames.push(d);
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    ws.send(JSON.stringify({ op: 'subscribe', instruments: [UNDERLYING] }));
    await waitFor('binary frame', async () => (frames.length > 0 ? true : undefined), 10_000);
    const snap = snapshotCodec.decode(frames[0] as Buffer) as Snapshot & { tick?: { instrument: { id: string } } };
    assert.equal(snap.instrumentId, UNDERLYING);
    ws.close();

    const ac = new AbortController();
    const res = await fetch(`${base}/v1/stream?instruments=${UNDERLYING}&access_token=${read}`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body?.getReader();
    let text = '';
    while (!text.includes('event: quote')) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += Buffer.from(chunk.value).toString();
    }
    ac.abort();
    const data = /event: quote\ndata: (.*)\n/.exec(text)?.[1];
    assert.equal(JSON.parse(data ?? '{}').instrument, UNDERLYING);
  });

  test('per-token rate limit: 429 problem past the limit, another token unaffected', async () => {
    const t = await token();
    let last = 0;
    for (let i = 0; i <= RATE_LIMIT; i++) last = (await get('/v1/instruments?prefix=GW', t)).status;
    assert.equal(last, 429);
    const r = await get('/v1/instruments?prefix=GW', t);
    assert.match(r.type, /problem\+json/);
    assert.equal(r.body.status, 429);
    assert.equal((await get('/v1/instruments?prefix=GW', await token())).status, 200);
  });
});
