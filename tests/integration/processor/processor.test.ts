// The processor against a real Kafka: a seeded session goes into a raw topic, every enriched and
// dead-letter record that comes out is checked against independent computations — in-process, and
// as a child process killed with SIGKILL mid-stream and restarted.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { createKafka, ensureTopics } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import type { Bar, DeadLetter, EnrichedRecord, GammaExposure, OptionQuote, Tick } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { dlqTopic, enrichedTopic, rawTopic, shardTopicSpecs } from '../../../services/core/topics.ts';
import { startProcessor } from '../../../services/processor/consumer.ts';
import {
  EXPIRY_MS,
  expectedFinalBars,
  generateSession,
  type RawMessage,
  refGreeks,
  refIv,
  round,
  type Session,
  shardFile,
} from './session.ts';

const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const NAMESPACE = 'test';
const log = createLogger({ component: 'processor-test', level: 'silent' });
const kafka: Kafka = createKafka(BROKERS, 'processor-test', log);
const enrichedCodec = codec<EnrichedRecord>('EnrichedRecord');
const dlqCodec = codec<DeadLetter>('DeadLetter');
const TICK_SIZES = { 'IDX_I:13': 0.05, 'NSE_EQ:2885': 0.1 };
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Collected {
  ticks: Tick[];
  quotes: OptionQuote[];
  bars: Bar[];
  gex: GammaExposure[];
  dead: DeadLetter[];
}

async function collect(feed: string): Promise<{ out: Collected; consumer: Consumer }> {
  const out: Collected = { ticks: [], quotes: [], bars: [], gex: [], dead: [] };
  const consumer = kafka.consumer({ groupId: `processor-test-${feed}-${randomBytes(3).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [enrichedTopic(NAMESPACE, feed, 0), dlqTopic(NAMESPACE, feed)], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      if (!message.value) return;
      if (topic.startsWith('market.dlq.')) {
        out.dead.push(dlqCodec.decode(message.value));
        return;
      }
      const r = enrichedCodec.decode(message.value);
      if (r.payload === 'tick') out.ticks.push(r.tick);
      else if (r.payload === 'optionQuote') out.quotes.push(r.optionQuote);
      else if (r.payload === 'bar') out.bars.push(r.bar);
      else if (r.payload === 'gex') out.gex.push(r.gex);
    },
  });
  cleanups.push(() => consumer.disconnect());
  return { out, consumer };
}

async function setUpFeed(feed: string): Promise<Producer> {
  const admin = kafka.admin();
  await admin.connect();
  const specs = shardTopicSpecs({ namespace: NAMESPACE, feed, ...shardFile(feed, NAMESPACE).kafka }, 0);
  const topics = specs.map((s) => s.topic);
  await ensureTopics(admin, specs);
  await admin.disconnect();
  cleanups.push(async () => {
    const a = kafka.admin();
    await a.connect();
    await a.deleteTopics({ topics }).catch(() => {});
    await a.disconnect();
  });
  const producer = kafka.producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

async function produce(producer: Producer, feed: string, messages: RawMessage[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 500) {
    await producer.send({ topic: rawTopic(NAMESPACE, feed, 0), acks: -1, messages: messages.slice(i, i + 500) });
  }
}

async function until(what: string, done: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const uniqueBy = <T>(items: T[], key: (t: T) => string): Map<string, T> => {
  const m = new Map<string, T>();
  for (const i of items) m.set(key(i), i); // the latest version wins, as in storage
  return m;
};

function checkEverything(session: Session, out: Collected): void {
  // Ticks: every valid one, normalised and with metadata.
  const ticks = uniqueBy(out.ticks, (t) => `${t.instrument.id}#${t.seq}`);
  assert.equal(ticks.size, session.ticks.length, 'every valid tick comes out once (modulo duplicates)');
  for (const raw of session.ticks) {
    const t = ticks.get(`${raw.instrument.id}#${raw.seq}`);
    assert.ok(t, `tick ${raw.instrument.id}#${raw.seq} is missing`);
    assert.equal(t.lastPrice, round(raw.lastPrice, TICK_SIZES[raw.instrument.id as keyof typeof TICK_SIZES]));
    assert.equal(t.meta?.tickSize, TICK_SIZES[raw.instrument.id as keyof typeof TICK_SIZES]);
    assert.equal(t.exchangeTimeMs, raw.exchangeTimeMs);
  }
  // Option quotes: one per contract per snapshot, IV and Greeks as an independent computation says.
  const quotes = uniqueBy(out.quotes, (q) => `${q.instrument.id}#${q.seq}`);
  assert.equal(quotes.size, session.chains * session.legsPerChain);
  let withIv = 0;
  for (const q of quotes.values()) {
    const call = q.meta.optionType === 'CALL';
    const T = (EXPIRY_MS - q.exchangeTimeMs) / (365 * 86_400_000);
    assert.ok(Math.abs(q.timeToExpiryYears - T) < 1e-12, 'time to expiry runs to 15:30 IST');
    assert.equal(q.meta.lotSize, 75);
    assert.equal(q.meta.underlying, 'IDX_I:13');
    const iv = refIv(q.underlyingPrice, q.meta.strike, T, q.price, call);
    if (iv === undefined) {
      assert.equal(q.ivAvailable, false, `${q.instrument.id}: no volatility reproduces ${q.price}`);
      continue;
    }
    withIv++;
    assert.ok(q.ivAvailable, `${q.instrument.id} at ${q.price} has an IV`);
    assert.ok(Math.abs(q.iv - iv) < 1e-9, `${q.instrument.id}: iv ${q.iv} vs bisection ${iv}`);
    const g = refGreeks(q.underlyingPrice, q.meta.strike, T, iv, call);
    assert.ok(Math.abs(q.delta - g.delta) < 1e-8, `delta ${q.delta} vs ${g.delta}`);
    assert.ok(Math.abs(q.gamma - g.gamma) < 1e-10, `gamma ${q.gamma} vs ${g.gamma}`);
    assert.ok(Math.abs(q.vega - g.vega) < 1e-8, `vega ${q.vega} vs ${g.vega}`);
    const expectedGex = (call ? 1 : -1) * g.gamma * q.openInterest * q.underlyingPrice ** 2 * 0.01;
    assert.ok(Math.abs(q.gex - expectedGex) <= 1e-6 * Math.abs(expectedGex) + 1e-9, 'contract GEX = ±Γ·OI·S²·0.01');
  }
  assert.ok(withIv > quotes.size / 2, `most quotes have an IV (${withIv}/${quotes.size})`);
  // Gamma exposure: one per snapshot, the sum of its contracts.
  const gex = uniqueBy(out.gex, (g) => `${g.underlyingId}@${g.timeMs}`);
  assert.equal(gex.size, session.chains);
  for (const g of gex.values()) {
    const legs = [...quotes.values()].filter((q) => q.exchangeTimeMs === g.timeMs);
    const net = legs.reduce((s, q) => s + q.gex, 0);
    assert.ok(Math.abs(g.netGex - net) <= 1e-9 * Math.abs(net), 'net GEX sums the contracts');
    assert.ok(Math.abs(g.callGex + g.putGex - g.netGex) <= 1e-9 * Math.abs(g.netGex));
    if (g.zeroGammaAvailable) assert.ok(Math.abs(g.zeroGammaLevel / g.spot - 1) <= 0.1, 'zero gamma within ±10%');
  }
  // Bars: the last version of every final bar equals the bar computed from the raw ticks.
  const finals = uniqueBy(
    out.bars.filter((b) => b.final),
    (b) => `${b.instrumentId}@${b.minuteStartMs}`,
  );
  const expected = expectedFinalBars(session.ticks, TICK_SIZES);
  assert.ok(expected.size >= 4, 'the session spans several minutes');
  for (const [key, want] of expected) {
    const got = finals.get(key);
    assert.ok(got, `final bar ${key} is missing`);
    const { final: _f, ...rest } = got;
    assert.deepEqual(rest, want, `bar ${key}`);
  }
  // Dead letters: each bad record once, with its reason and origin.
  const dead = uniqueBy(out.dead, (d) => `${d.originPartition}:${d.originOffset}`);
  for (const b of session.bad) {
    const n = [...dead.values()].filter((d) => d.reason.startsWith(`${b.reason}:`)).length;
    assert.equal(n, b.count, `dead letters for ${b.reason}`);
  }
  for (const d of dead.values()) assert.ok(d.originTopic.startsWith('market.raw.') && d.payload.length > 0);
}

const expectedCounts = (s: Session) => ({
  ticks: s.ticks.length,
  quotes: s.chains * s.legsPerChain,
  dead: s.bad.reduce((a, b) => a + b.count, 0),
});

describe('processor on a real Kafka', () => {
  test('in-process: every enriched and dead-letter record of a session matches an independent computation', async () => {
    const feed = `proc-it-${randomBytes(4).toString('hex')}`;
    const session = generateSession(11, 150);
    const producer = await setUpFeed(feed);
    await produce(producer, feed, session.messages);
    const running = await startProcessor({
      brokers: BROKERS,
      feed,
      namespace: NAMESPACE,
      shardIndex: 0,
      shard: shardFile(feed, NAMESPACE),
      log,
    });
    cleanups.push(() => running.stop());
    const { out } = await collect(feed);
    const want = expectedCounts(session);
    await until('all records', () => {
      const t = new Set(out.ticks.map((x) => `${x.instrument.id}#${x.seq}`)).size;
      const q = new Set(out.quotes.map((x) => `${x.instrument.id}#${x.seq}`)).size;
      return t >= want.ticks && q >= want.quotes && out.dead.length >= want.dead;
    });
    await new Promise((r) => setTimeout(r, 1000));
    checkEverything(session, out);
    assert.equal(out.ticks.length, want.ticks, 'no duplicates without a failure');
    const status = running.status();
    assert.equal(status.errors, want.dead);
    assert.equal(status.connectionState, 'CONNECTED');
    await running.stop();
  });

  test('a second processor joining mid-stream (a rebalance) loses no record and rebuilds bars from the committed offset', async () => {
    const feed = `proc-join-${randomBytes(4).toString('hex')}`;
    const session = generateSession(31, 150);
    const producer = await setUpFeed(feed);
    const { out } = await collect(feed);
    const start = (clientId: string) =>
      startProcessor({
        brokers: BROKERS,
        feed,
        namespace: NAMESPACE,
        shardIndex: 0,
        shard: shardFile(feed, NAMESPACE),
        log,
        clientId,
      });
    const half = Math.floor(session.messages.length / 2);
    await produce(producer, feed, session.messages.slice(0, half));
    const first = await start(`proc-join-a-${feed}`);
    cleanups.push(() => first.stop());
    await until('output from the first processor', () => out.ticks.length > session.ticks.length / 4);
    // The first keeps one of the two partitions and replays it from its committed offset: bar state
    // fed twice would show in the final bars' volumes and counts.
    const second = await start(`proc-join-b-${feed}`);
    cleanups.push(() => second.stop());
    await produce(producer, feed, session.messages.slice(half));
    const want = expectedCounts(session);
    await until('all records after the rebalance', () => {
      const t = new Set(out.ticks.map((x) => `${x.instrument.id}#${x.seq}`)).size;
      const q = new Set(out.quotes.map((x) => `${x.instrument.id}#${x.seq}`)).size;
      const d = new Set(out.dead.map((x) => `${x.originPartition}:${x.originOffset}`)).size;
      return t >= want.ticks && q >= want.quotes && d >= want.dead;
    });
    await new Promise((r) => setTimeout(r, 1000));
    checkEverything(session, out);
    await second.stop();
    await first.stop();
  });

  test('child process: SIGKILL mid-stream and a restart lose no record', async () => {
    const feed = `proc-kill-${randomBytes(4).toString('hex')}`;
    const session = generateSession(23, 150);
    const producer = await setUpFeed(feed);
    const dir = mkdtempSync(join(tmpdir(), 'stockify-processor-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'shard.json');
    writeFileSync(file, JSON.stringify(shardFile(feed, NAMESPACE)));
    const spawnProcessor = (): ChildProcess => {
      const child = spawn(process.execPath, ['services/cli.ts', 'processor'], {
        env: {
          ...process.env,
          KAFKA_BROKERS: BROKERS.join(','),
          FEED_NAME: feed,
          FEED_NAMESPACE: NAMESPACE,
          SHARD_INDEX: '0',
          SHARD_COUNT: '1',
          INSTRUMENTS_FILE: file,
          METRICS_PORT: String(20000 + Math.floor(Math.random() * 20000)),
          GRPC_PORT: String(40000 + Math.floor(Math.random() * 20000)),
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      return child;
    };
    const { out } = await collect(feed);
    const half = Math.floor(session.messages.length / 2);
    await produce(producer, feed, session.messages.slice(0, half));
    const first = spawnProcessor();
    await until('output from the first processor', () => out.ticks.length > session.ticks.length / 4, 90_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await produce(producer, feed, session.messages.slice(half));
    const second = spawnProcessor();
    const want = expectedCounts(session);
    await until(
      'all records after the restart',
      () => {
        const t = new Set(out.ticks.map((x) => `${x.instrument.id}#${x.seq}`)).size;
        const q = new Set(out.quotes.map((x) => `${x.instrument.id}#${x.seq}`)).size;
        const d = new Set(out.dead.map((x) => x.originOffset + x.originPartition)).size;
        return t >= want.ticks && q >= want.quotes && d >= want.dead;
      },
      120_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    checkEverything(session, out);
    second.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    assert.equal(code, 0, 'SIGTERM stops the processor cleanly');
  });
});
