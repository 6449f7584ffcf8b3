// Back-pressure against real Redis and a real gateway process: a WebSocket client that stops reading
// while updates are published on live:<id> is conflated (it never receives every update) and then
// cut with close code 4008 and a reason; a client that keeps reading gets the updates as published.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { tick } from '../../unit/storage/fixtures.ts';
import { REDIS_URL } from '../storage/helpers.ts';
import { waitFor } from '../storage/process.ts';

const CLI = fileURLToPath(new URL('../../../services/cli.ts', import.meta.url));
const RUN = Math.floor(Math.random() * 90_000) + 10_000;
const PORT = 40740 + (RUN % 10);
const snapshot = codec<Snapshot>('Snapshot');
const IDS = Array.from({ length: 5 }, (_, i) => `NSE_EQ:${RUN}${i}`);

/** A Snapshot of about 1 KB (five depth levels), as storage publishes it. */
function update(id: string, seq: number): Buffer {
  const t = tick(id, seq);
  const depth = Array.from({ length: 5 }, (_, i) => ({
    bidPrice: 100 + i,
    bidQuantity: 10,
    bidOrders: 1,
    askPrice: 101 + i,
    askQuantity: 10,
    askOrders: 1,
  }));
  return snapshot.encode({ instrumentId: id, timeMs: t.exchangeTimeMs, payload: 'tick', tick: { ...t, depth } } as Snapshot);
}

describe('live back-pressure on a real gateway', () => {
  let gateway: ChildProcess;
  let out = '';
  let redis: Redis;

  before(async () => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    gateway = spawn(process.execPath, [CLI, 'gateway'], {
      env: {
        ...process.env,
        REDIS_URL,
        FEED_NAME: `slow-${RUN}`,
        HTTP_PORT: String(PORT),
        MARKETDATA_ENDPOINT: '127.0.0.1:1',
        LIVE_HIGH_WATER_BYTES: '65536',
        LIVE_MAX_BEHIND_MS: '1500',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    gateway.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(
      'gateway ready',
      async () => ((await fetch(`http://127.0.0.1:${PORT}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
  });
  after(async () => {
    redis.disconnect();
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));
  });

  async function subscribed(): Promise<{ ws: WebSocket; seen: Map<string, number>; count: () => number }> {
    const ws = new WebSocket(`ws://127.0.0.1:${PORT}/v1/ws?format=protobuf`);
    const seen = new Map<string, number>();
    let n = 0;
    ws.on('message', (d: Buffer, binary: boolean) => {
      if (!binary) return;
      const s = snapshot.decode(d) as Snapshot & { tick?: { seq: number } };
      n++;
      seen.set(s.instrumentId, s.tick?.seq ?? 0);
    });
    await new Promise((r, j) => ws.once('open', r).once('error', j));
    const ack = new Promise((r) => ws.once('message', r));
    ws.send(JSON.stringify({ op: 'subscribe', instruments: IDS }));
    await ack;
    return { ws, seen, count: () => n };
  }

  test('a reader that keeps up gets every update, in order per instrument', async () => {
    const { ws, seen, count } = await subscribed();
    for (let seq = 1; seq <= 200; seq++)
      await redis.publish(`live:${IDS[seq % IDS.length]}`, update(IDS[seq % IDS.length] as string, seq));
    await waitFor('all 200', async () => (count() >= 200 ? true : undefined), 10_000);
    assert.equal(count(), 200);
    assert.equal(seen.get(IDS[0] as string), 200);
    ws.close();
  });

  test('a client that stops reading is conflated, then closed with 4008 and a reason', async () => {
    const { ws, seen, count } = await subscribed();
    const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
    const PUBLISHED = 40_000;
    const pipe = redis.pipeline();
    for (let seq = 1; seq <= PUBLISHED; seq++) {
      const id = IDS[seq % IDS.length] as string;
      pipe.publish(`live:${id}`, update(id, seq));
      if (seq % 2_000 === 0) await pipe.exec().then(() => undefined);
    }
    await pipe.exec();
    await new Promise((r) => setTimeout(r, 2_500)); // longer than LIVE_MAX_BEHIND_MS
    socket.resume();
    const { code, reason } = await closed;
    assert.equal(code, 4008);
    assert.match(reason, /too slow/);
    assert.ok(count() < PUBLISHED, `received ${count()} of ${PUBLISHED}: conflated`);
    const metrics = await (await fetch(`http://127.0.0.1:${PORT}/metrics`)).text();
    const conflated = Number(/stockify_gateway_live_conflated_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const cut = Number(/stockify_gateway_live_cut_total\{[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    assert.ok(conflated > 0, metrics);
    assert.equal(cut, 1);
    process.stdout.write(
      `# slow client: ${count()} of ${PUBLISHED} updates delivered, ${conflated} conflated, cut with ${code} "${reason}"; last seqs ${[...seen.values()].join(',')}\n`,
    );
  });
});
