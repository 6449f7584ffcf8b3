// Make-before-break and gaps with real `stockify ingestion` processes, a real broker and a Dhan
// double that broadcasts numbered packets like an exchange: a successor that is Ready before its
// predecessor is stopped (SIGTERM) loses nothing, both publish the overlap with the same keys, and
// a SIGKILL's hole is recorded as a gap that holds every packet nobody published.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { IngestionGap, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { rawTopic } from '../../../services/core/topics.ts';
import { startDhanBroadcaster } from './dhan-broadcaster.ts';
import {
  BROKERS,
  baseEnv,
  consumeAll,
  deleteTopics,
  type Running,
  runId,
  scrapeMetric,
  startIngestion,
  stopProcess,
  waitFor,
  writeShardFile,
} from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const feed = `handover-${runId()}`;
after(() => deleteTopics(BROKERS, feed));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const INSTRUMENTS = [1001, 1002, 1003, 1004].map((securityId) => ({ segment: 'NSE_EQ', securityId }));

async function ready(port: string): Promise<boolean> {
  return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
}

describe('ingestion handover and gaps', () => {
  test('rollout (successor Ready, then SIGTERM) loses nothing; SIGKILL leaves a recorded gap that holds every lost packet', async () => {
    const dbl = await startDhanBroadcaster({
      host: '127.0.0.1',
      clientId: '1000000001',
      token: 'test-token',
      instruments: INSTRUMENTS,
      packetsPerSecond: 200,
    });
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'dhan', mode: 'quote', optionChainPollSeconds: 3 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: INSTRUMENTS.map((i) => ({
        symbol: `S${i.securityId}`,
        securityId: String(i.securityId),
        segment: 'NSE_EQ',
        kind: 'equity',
      })),
    });
    const start = async (): Promise<{ run: Running; metrics: string }> => {
      const env = await baseEnv(feed, 0, 1, file);
      const run = startIngestion({
        ...env,
        DHAN_CLIENT_ID: '1000000001',
        DHAN_ACCESS_TOKEN: 'test-token',
        DHAN_FEED_URL: dbl.feedUrl,
        DHAN_API_URL: dbl.apiUrl,
      });
      await waitFor('the process Ready (subscribed)', () => ready(env.METRICS_PORT as string), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}\n${run.output()}`);
      });
      return { run, metrics: env.METRICS_PORT as string };
    };
    const procs: Running[] = [];
    try {
      const a = await start();
      procs.push(a.run);
      await sleep(2_000);
      // The rollout: the successor subscribes and is Ready before the predecessor is told to stop.
      const b = await start();
      procs.push(b.run);
      const handoverAt = Date.now();
      assert.equal(await stopProcess(a.run), 0, 'the predecessor stops cleanly');
      await sleep(2_000);
      // The crash: nothing listens until the next process has subscribed.
      const killedAt = Date.now();
      b.run.child.kill('SIGKILL');
      await b.run.exited;
      await sleep(1_500);
      const c = await start();
      procs.push(c.run);
      const restartedAt = Date.now();
      await waitFor(
        'the gap check of the restarted process',
        async () => (await scrapeMetric(c.metrics, 'stockify_ingestion_gaps_total')) === 1,
        30_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n${c.run.output()}`);
      });
      await sleep(1_000);
      const endAt = Date.now();
      await stopProcess(c.run);

      const records = (await consumeAll(BROKERS, rawTopic('itest', feed, 0), 1, 30_000)).map((m) => raw.decode(m.value));
      const ticks = records.filter((r): r is Extract<RawRecord, { payload: 'tick' }> => r.payload === 'tick').map((r) => r.tick);
      const gaps = records.filter((r): r is Extract<RawRecord, { payload: 'gap' }> => r.payload === 'gap').map((r) => r.gap);
      const byVolume = new Map<number, Tick[]>();
      for (const t of ticks) byVolume.set(t.volume, [...(byVolume.get(t.volume) ?? []), t]);

      // Handover: every packet from the predecessor's first to the kill is in Kafka, the overlap twice with one key.
      const firstA = Math.min(...ticks.map((t) => t.volume));
      const handover = dbl.sent.filter((p) => p.volume >= firstA && p.sentAtMs < killedAt - 200);
      const lost = handover.filter((p) => !byVolume.has(p.volume));
      assert.deepEqual(
        lost.map((p) => p.n),
        [],
        'no packet lost across the handover',
      );
      const overlap = [...byVolume.values()].filter((copies) => copies.length > 1);
      const around = handover.filter((p) => Math.abs(p.sentAtMs - handoverAt) < 10_000);
      assert.ok(overlap.length > 0, 'both processes published the overlap (make-before-break)');
      for (const copies of overlap) {
        const keys = new Set(copies.map((t) => `${t.instrument.id}|${t.exchangeTimeMs}|${t.seq}`));
        assert.equal(keys.size, 1, `packet volume ${copies[0]?.volume} has one key however often published`);
      }
      assert.ok(dbl.maxOpen() <= 2, `at most one extra connection at a time (max open ${dbl.maxOpen()})`);

      // Crash: exactly one gap, from the restarted process; every packet nobody published lies inside it.
      assert.equal(gaps.length, 1, `one gap recorded, not one per handover: ${JSON.stringify(gaps)}`);
      const gap = gaps[0] as IngestionGap;
      assert.deepEqual(gap.instrumentIds.toSorted(), INSTRUMENTS.map((i) => `NSE_EQ:${i.securityId}`).toSorted());
      const crashWindow = dbl.sent.filter((p) => p.sentAtMs >= killedAt - 200 && p.sentAtMs <= endAt - 500);
      const missing = crashWindow.filter((p) => !byVolume.has(p.volume));
      assert.ok(missing.length > 0, 'the SIGKILL lost packets (nobody listened for 1.5 s and more)');
      const outside = missing.filter((p) => p.exchangeTimeMs < Number(gap.fromMs) || p.exchangeTimeMs > Number(gap.toMs));
      assert.deepEqual(
        outside.map((p) => p.n),
        [],
        'every missing packet lies inside the recorded gap',
      );
      process.stdout.write(
        `# handover: ${handover.length} packets, ${around.length} around the switch, ${overlap.length} published twice (one key each), max open connections ${dbl.maxOpen()}\n` +
          `# crash: ${missing.length} packets lost, gap ${((Number(gap.toMs) - Number(gap.fromMs)) / 1000).toFixed(0)} s wide, restart ${((restartedAt - killedAt) / 1000).toFixed(1)} s\n`,
      );
    } finally {
      for (const p of procs) await stopProcess(p);
      await dbl.close();
    }
  });
});
