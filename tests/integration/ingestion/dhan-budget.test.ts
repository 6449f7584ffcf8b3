// A Dhan MarketFeed of 8 shards on one account, against the Dhan double and the real broker: the
// shard files come from the operator's own builders (desiredObjects), 8 `stockify ingestion`
// processes run them. The double, like Dhan, counts connections per client id and refuses a 6th
// with disconnect 805, and records when each REST request arrived. Asserted: at most the planned
// connections are open (5 less the handover spare at most), no two option-chain requests < 3 s
// apart (and no 429), every instrument subscribed exactly once, and every instrument's ticks in its
// home shard's raw topic only, the ones carried by another shard's connection included.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
// kafkajs's idle request-queue spin would keep this process alive after the test (core/kafka.ts).
import '../../../services/core/kafka-request-queue.ts';
import WebSocket from 'ws';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { desiredObjects, dhanBudget, SHARD_FILE_KEY } from '../../../operator/desired/index.ts';
import { instrumentId, type RawRecord } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { shardOf } from '../../../services/core/sharding.ts';
import { rawTopic } from '../../../services/core/topics.ts';
import { decodePacket } from '../../../services/ingestion/dhan/packet.ts';
import { MAX_CONNECTIONS_PER_CLIENT, startDhanDouble, TOO_MANY_CONNECTIONS } from './dhan-double.ts';
import { encodeTicker } from './dhan-encoder.ts';
import { BROKERS, deleteTopics, type Running, runId, startIngestion, writeShardFile } from './helpers.ts';

// Ports of this test: 40300 (double), 40310-40325 (gRPC and metrics of the 8 processes).
const DOUBLE_PORT = 40300;
const processPorts = (shard: number) => ({ GRPC_PORT: String(40310 + 2 * shard), METRICS_PORT: String(40311 + 2 * shard) });
const SHARDS = 8;
/** Option-chain requests to see before the spacing is judged (3 home shards share the account's slots). */
const CHAIN_REQUESTS = 10;
const EQUITIES = 10_000;
const CLIENT = '1100000077';
const TOKEN = 'budget-token';
const raw = codec<RawRecord>('RawRecord');
const feedName = `dhbud-${runId()}`;
after(() => deleteTopics(BROKERS, feedName));

const ltt = (): number => Math.floor(Date.now() / 1000) + 19_800; // IST wall clock as epoch seconds
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function budgetFeed(): MarketFeed {
  return parseMarketFeed({
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name: feedName, namespace: 'itest', uid: 'budget-uid' },
    spec: {
      shards: SHARDS,
      source: { type: 'dhan', dhan: { credentialsSecretRef: { name: 'dhan-creds' }, mode: 'ticker' } },
      instruments: [
        ...Array.from({ length: EQUITIES }, (_, i) => ({ symbol: `EQ${i}`, securityId: String(200_000 + i), segment: 'NSE_EQ' })),
        ...['13', '25', '51'].map((id, i) => ({
          symbol: `IDX${i}`,
          securityId: id,
          segment: 'IDX_I',
          optionChain: { expiries: 1, strikes: 2 },
        })),
      ],
      kafka: { bootstrapServers: BROKERS.join(','), partitionsPerShard: 1 },
      postgres: { secretRef: { name: 'pg' } },
      redis: { url: 'redis://127.0.0.1:1' },
    },
  });
}

const chainBody = {
  status: 'success',
  data: {
    last_price: 25_010,
    oc: { '25000.000000': { ce: { last_price: 120, security_id: 61001 }, pe: { last_price: 95, security_id: 61002 } } },
  },
};

/** Reads every raw topic of the feed from the start, collecting which instruments' ticks each holds. */
async function watchRawTopics(topics: string[]): Promise<{ seen: Map<string, Set<number>>; stop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: 'dhan-budget-test', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `dhan-budget-${runId()}` });
  await consumer.connect();
  const seen = new Map<string, Set<number>>();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
  } catch (err) {
    await consumer.disconnect();
    throw err;
  }
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const shard = topics.indexOf(batch.topic);
      for (const m of batch.messages) {
        if (!m.value) continue;
        const r = raw.decode(m.value);
        if (r.payload !== 'tick') continue;
        const homes = seen.get(r.tick.instrument.id) ?? new Set<number>();
        homes.add(shard);
        seen.set(r.tick.instrument.id, homes);
      }
    },
  });
  return { seen, stop: () => consumer.disconnect() };
}

describe('Dhan account budget against the double and the real broker', () => {
  test('the double refuses a 6th connection of one client id with disconnect 805', async () => {
    const dbl = await startDhanDouble({
      clientId: CLIENT,
      token: TOKEN,
      frames: () => [],
      expectedInstruments: 1,
      port: DOUBLE_PORT,
    });
    const url = `${dbl.feedUrl}/?version=2&token=${TOKEN}&clientId=${CLIENT}&authType=2`;
    const sockets: WebSocket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS_PER_CLIENT; i++) {
        const ws = new WebSocket(url);
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        sockets.push(ws);
      }
      const sixth = new WebSocket(url);
      const packet = await new Promise<Buffer>((resolve) => sixth.once('message', (d) => resolve(d as Buffer)));
      const closed = new Promise((resolve) => sixth.once('close', resolve));
      const decoded = decodePacket(packet);
      assert.equal(decoded.type, 'disconnect');
      assert.equal(decoded.type === 'disconnect' && decoded.reason, TOO_MANY_CONNECTIONS);
      await closed;
      assert.deepEqual(dbl.clientConnections(CLIENT), { open: 5, max: 5, refused: 1 });
    } finally {
      for (const s of sockets) s.terminate();
      await dbl.close();
    }
  });

  test('8 shards on one account: ≤ planned connections, chain requests ≥ 3 s apart, each instrument subscribed once and published at home', async () => {
    const feed = budgetFeed();
    const plan = dhanBudget(feed);
    assert.ok(plan?.ok, plan && !plan.ok ? plan.message : 'a plan');
    const planned = plan.budget.connections;
    const carriers = plan.budget.shards.filter((s) => s.connections.length > 0).map((s) => s.shard);
    const files = desiredObjects(feed)
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => (o as { data: Record<string, string> }).data[SHARD_FILE_KEY] ?? '');
    assert.equal(files.length, SHARDS);

    const ticked = new Set<string>();
    const dbl = await startDhanDouble({
      clientId: CLIENT,
      token: TOKEN,
      frames: () => [],
      expectedInstruments: -1,
      port: DOUBLE_PORT,
      chain: { expiries: ['2026-12-29'], body: () => chainBody },
      // One ticker per instrument, spread over 10 s: the double shares this process with the Kafka
      // reader, and a busy event loop (here or in a carrier) would blur the REST request times.
      stream: {
        everyMs: 1_000,
        packet: (i) => {
          const id = `${i.ExchangeSegment}:${i.SecurityId}`;
          // A tenth of the instruments a second, not all 10,003 in one burst at subscription.
          if (ticked.has(id) || Number(i.SecurityId) % 10 !== Math.floor(Date.now() / 1000) % 10) return undefined;
          ticked.add(id);
          return encodeTicker(
            { segment: i.ExchangeSegment, securityId: Number(i.SecurityId) },
            100 + (Number(i.SecurityId) % 900),
            ltt(),
          );
        },
      },
    });
    const topics = Array.from({ length: SHARDS }, (_, i) => rawTopic('itest', feedName, i));
    const procs: Running[] = [];
    try {
      for (let shard = 0; shard < SHARDS; shard++) {
        procs.push(
          startIngestion({
            KAFKA_BROKERS: BROKERS.join(','),
            FEED_NAME: feedName,
            FEED_NAMESPACE: 'itest',
            SHARD_INDEX: String(shard),
            SHARD_COUNT: String(SHARDS),
            INSTRUMENTS_FILE: writeShardFile(JSON.parse(files[shard] ?? '{}')),
            ...processPorts(shard),
            DHAN_CLIENT_ID: CLIENT,
            DHAN_ACCESS_TOKEN: TOKEN,
            DHAN_FEED_URL: dbl.feedUrl,
            DHAN_API_URL: dbl.apiUrl,
          }),
        );
      }
      const all = feed.spec.instruments.map((i) => instrumentId(i.segment, i.securityId));
      // Every process has provisioned its topics before the reader subscribes to them.
      while (
        procs.some((p) => !p.output().includes('ingestion shard started')) &&
        procs.every((p) => p.child.exitCode === null)
      ) {
        await sleep(500);
      }
      // Every instrument's ticks in its home topic, and enough chain requests to measure their spacing.
      let watch: Awaited<ReturnType<typeof watchRawTopics>> | undefined;
      const deadline = Date.now() + 150_000;
      for (;;) {
        watch ??= await watchRawTopics(topics);
        const missing = all.filter((id) => !watch?.seen.has(id));
        if ((missing.length === 0 && dbl.restCalls.length >= CHAIN_REQUESTS) || Date.now() > deadline) break;
        await sleep(1_000);
      }
      const seen = watch?.seen ?? new Map<string, Set<number>>();
      await watch?.stop();
      if (seen.size < all.length) {
        for (const [shard, p] of procs.entries()) process.stdout.write(`# shard ${shard}: ${p.output().slice(-1200)}\n`);
      }

      const client = dbl.clientConnections(CLIENT);
      const subscribedCount = new Map<string, number>();
      for (const s of dbl.subscribed) {
        const id = `${s.ExchangeSegment}:${s.SecurityId}`;
        subscribedCount.set(id, (subscribedCount.get(id) ?? 0) + 1);
      }
      const rest = [...dbl.restCalls].sort((a, b) => a.timeMs - b.timeMs);
      const gaps = rest.slice(1).map((c, i) => c.timeMs - (rest[i]?.timeMs ?? 0));
      const misplaced = [...seen].filter(([id, homes]) => homes.size !== 1 || !homes.has(shardOf(id, SHARDS)));
      const carried = all.filter((id) => !carriers.includes(shardOf(id, SHARDS)));
      process.stdout.write(
        `# dhan budget: planned connections ${planned} held by shards ${carriers.join(',')}; double saw max ${client.max} open, ${client.refused} refused; ` +
          `${subscribedCount.size} instruments subscribed (${carried.length} carried for slot-less shards); ${seen.size} with ticks; ` +
          `${rest.length} chain requests over ${rest.length > 1 ? (((rest.at(-1)?.timeMs ?? 0) - (rest[0]?.timeMs ?? 0)) / 1000).toFixed(1) : 0} s, min gap ${gaps.length > 0 ? Math.min(...gaps) : '-'} ms, statuses ${[...new Set(rest.map((r) => r.status))].join(',')}\n`,
      );

      assert.deepEqual(dbl.subscribeErrors, [], 'subscribe messages follow the protocol (≤ 100 each)');
      assert.ok(client.max <= MAX_CONNECTIONS_PER_CLIENT - 1, `at most 4 connections open (1 kept spare), saw ${client.max}`);
      assert.equal(client.max, planned, 'exactly the planned connections');
      assert.equal(client.refused, 0);
      assert.equal(subscribedCount.size, all.length, 'every instrument subscribed');
      assert.ok(
        [...subscribedCount.values()].every((n) => n === 1),
        'no instrument subscribed twice',
      );
      assert.ok(carried.length > 0, 'some shards hold no connection: their instruments are carried');
      assert.deepEqual(
        all.filter((id) => !seen.has(id)),
        [],
        'every instrument has ticks in Kafka',
      );
      assert.deepEqual(misplaced, [], "every instrument's ticks in its home shard's raw topic only");
      assert.ok(rest.length >= CHAIN_REQUESTS, `the chain pollers sent ${rest.length} requests`);
      assert.ok(
        rest.every((r) => r.status === 200),
        `no request refused: ${rest.map((r) => r.status).join(',')}`,
      );
      assert.ok(
        gaps.every((g) => g >= 3_000),
        `chain requests ≥ 3 s apart: ${gaps.join(',')}`,
      );
    } finally {
      for (const p of procs) p.child.kill('SIGTERM');
      const codes = await Promise.all(procs.map((p) => p.exited));
      await dbl.close();
      codes.forEach((code, shard) => {
        assert.equal(code, 0, `shard ${shard}: ${procs[shard]?.output().slice(-1500)}`);
      });
    }
  });
});
