// Live option contracts end to end: the Dhan double streams a packet a second for every instrument
// subscribed; ingestion (fetching the double's scrip master from DHAN_SCRIP_MASTER_URL, as a pod
// does from spec.source.dhan.scripMasterUrl) subscribes NIFTY's two nearest
// expiries × 10 strikes × CE/PE around the spot; the processor solves IV and Greeks per option tick
// on NIFTY's latest spot; storage writes option_quotes. Measured: packet sent → row visible in
// PostgreSQL (p50, max; the issue asks for ≤ 1 s). Then the spot moves six strikes: the window
// follows (far strikes unsubscribed with code 22, new ones subscribed, rows for them), while
// wiggles inside the hysteresis band change nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type pg from 'pg';
import { createLogger } from '../../../services/core/log.ts';
import { readShardFile } from '../../../services/core/shardfile.ts';
import { enrichedTopic } from '../../../services/core/topics.ts';
import { istEpochSecondsToUtcMs } from '../../../services/ingestion/dhan/packet.ts';
import { contentSeq } from '../../../services/ingestion/dhan/state.ts';
import { bsPrice } from '../../../services/ingestion/simulator/black-scholes.ts';
import { startProcessor } from '../../../services/processor/consumer.ts';
import { timeToExpiryYears } from '../../../services/processor/normalise.ts';
import { DATABASE_URL, dropSchema, testPool, uniqueName } from '../storage/helpers.ts';
import { startStorage } from '../storage/process.ts';
import { type FeedInstrument, scripMasterCsv, startDhanDouble } from './dhan-double.ts';
import { encodeFull, encodeTicker } from './dhan-encoder.ts';
import { BROKERS, deleteTopics, runId, scrapeMetric, startIngestion, stopProcess, waitFor, writeShardFile } from './helpers.ts';

// Ports of this test: 40400-40409.
const PORTS = { double: 40400, ingestionGrpc: 40401, ingestionMetrics: 40402, storageGrpc: 40403, storageMetrics: 40404 };
const feed = `dhopt-${runId()}`;
const schema = uniqueName('dhopt');
const pool: pg.Pool = testPool();
after(async () => {
  await deleteTopics(BROKERS, feed);
  await dropSchema(pool, schema);
  await pool.end();
});

const day = (offset: number): string => new Date(Date.now() + 19_800_000 + offset * 86_400_000).toISOString().slice(0, 10);
const EXPIRIES = [day(6), day(13), day(20)];
const STEP = 50;
const SIGMA = 0.15;
const ltt = (): number => Math.floor(Date.now() / 1000) + 19_800; // IST wall clock as epoch seconds

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

describe('live option contracts from the Dhan double', () => {
  test('per-tick IV/Greeks reach option_quotes within 1 s of the packet; the strike window follows a spot move', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stockify-dhan-options-'));
    const master = scripMasterCsv({
      symbol: 'NIFTY',
      securityId: '13',
      expiries: EXPIRIES,
      from: 25_000,
      to: 27_000,
      step: STEP,
      lotSize: 75,
      firstId: 70_000,
    });
    const bySecurityId = new Map(master.contracts.map((c) => [c.securityId, c]));
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'dhan', mode: 'full', optionChainPollSeconds: 3 },
      kafka: { partitionsPerShard: 2, replicationFactor: 1 },
      instruments: [
        {
          symbol: 'NIFTY',
          securityId: '13',
          segment: 'IDX_I',
          kind: 'index',
          optionChain: { expiries: 2, strikes: 10, lotSize: 75, segment: 'NSE_FNO' },
        },
      ],
    });
    const shard = readShardFile(file);
    const { riskFreeRate, dividendYield } = shard.pricing;
    let n = 0;
    const packet = (i: FeedInstrument, spotOf: (id: string) => number | undefined): Buffer | undefined => {
      const spot = spotOf('IDX_I:13');
      if (spot === undefined) return undefined;
      if (i.ExchangeSegment === 'IDX_I') return encodeTicker({ segment: 'IDX_I', securityId: 13 }, spot, ltt());
      const c = bySecurityId.get(i.SecurityId);
      if (!c) return undefined;
      const t = timeToExpiryYears(c.expiry, Date.now()) ?? 0;
      const fair = bsPrice({
        spot,
        strike: c.strike,
        time: t,
        rate: riskFreeRate,
        dividendYield,
        volatility: SIGMA,
        call: c.type === 'CE',
      });
      // A different last price each packet (±2 ticks), so that every packet is a row of its own.
      const ltp = Math.max(0.05, Math.round(fair / 0.05) * 0.05 + 0.05 * ((n++ % 5) - 2));
      const h = { segment: 'NSE_FNO', securityId: Number(c.securityId) };
      const q = {
        ltp,
        ltq: 75,
        ltt: ltt(),
        atp: ltp,
        volume: 75 * n,
        totalSell: 7_500,
        totalBuy: 9_000,
        open: ltp,
        close: ltp,
        high: ltp,
        low: ltp,
      };
      const depth = [0, 1, 2, 3, 4].map((k) => ({
        bidQty: 75,
        askQty: 150,
        bidOrders: 1,
        askOrders: 2,
        bid: ltp - 0.05 * (k + 1),
        ask: ltp + 0.05 * (k + 1),
      }));
      return encodeFull(h, q, { oi: 1_500_000, high: 1_600_000, low: 1_400_000 }, depth);
    };
    const dbl = await startDhanDouble({
      clientId: '1000000002',
      token: 'options-token',
      port: PORTS.double,
      expectedInstruments: 1,
      frames: () => [],
      stream: { everyMs: 1_000, packet },
      scripMaster: master.csv,
    });
    dbl.setSpot('IDX_I:13', 26_010);
    const quiet = createLogger({ component: 'processor-test', level: 'silent' });
    const processor = await startProcessor({ brokers: BROKERS, feed, namespace: 'itest', shardIndex: 0, shard, log: quiet });
    const storage = await startStorage(
      { feed, namespace: 'itest', topic: enrichedTopic('itest', feed, 0), dir, shardFile: file, cleanup: () => {} },
      { schema, databaseUrl: DATABASE_URL, grpcPort: PORTS.storageGrpc, env: { METRICS_PORT: String(PORTS.storageMetrics) } },
    );
    const ingestion = startIngestion({
      KAFKA_BROKERS: BROKERS.join(','),
      FEED_NAME: feed,
      FEED_NAMESPACE: 'itest',
      SHARD_INDEX: '0',
      SHARD_COUNT: '1',
      INSTRUMENTS_FILE: file,
      GRPC_PORT: String(PORTS.ingestionGrpc),
      METRICS_PORT: String(PORTS.ingestionMetrics),
      DHAN_CLIENT_ID: '1000000002',
      DHAN_ACCESS_TOKEN: 'options-token',
      DHAN_FEED_URL: dbl.feedUrl,
      DHAN_API_URL: dbl.apiUrl,
      DHAN_SCRIP_MASTER_URL: `${dbl.apiUrl}/api-scrip-master.csv`,
    });
    // First sight of each row (instrument, seq) in PostgreSQL, polled every 25 ms.
    const firstSeen = new Map<string, number>();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        try {
          const r = await pool.query<{ instrument_id: string; seq: string }>(
            `SELECT instrument_id, seq FROM "${schema}".option_quotes WHERE received_time > now() - interval '3 seconds'`,
          );
          const now = Date.now();
          for (const row of r.rows) {
            const k = `${row.instrument_id}|${row.seq}`;
            if (!firstSeen.has(k)) firstSeen.set(k, now);
          }
        } catch {
          // The schema appears once storage has migrated.
        }
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    const quoteRows = async (where = 'true') =>
      (
        await pool.query<{
          instrument_id: string;
          strike: number;
          expiry: string;
          option_type: string;
          underlying_price: number;
          iv: number;
          iv_available: boolean;
          delta: number;
          gamma: number;
        }>(
          `SELECT instrument_id, strike, to_char(expiry, 'YYYY-MM-DD') AS expiry, option_type, underlying_price, iv, iv_available, delta, gamma FROM "${schema}".option_quotes WHERE ${where}`,
        )
      ).rows;
    const strikesSubscribed = (code: number) =>
      new Set(
        dbl.requests
          .filter((r) => r.code === code)
          .flatMap((r) => r.instruments)
          .filter((i) => i.ExchangeSegment === 'NSE_FNO')
          .map((i) => bySecurityId.get(i.SecurityId)?.strike),
      );
    try {
      let quoted = 0;
      await waitFor(
        'quotes of all 40 contracts of the window',
        async () => {
          try {
            quoted = new Set((await quoteRows()).map((r) => r.instrument_id)).size;
            return quoted >= 40;
          } catch {
            return false;
          }
        },
        90_000,
        500,
      ).catch((err: Error) => {
        // Where it stalled (it did once in a full run): each stage's own account.
        const tail = (text: string) => text.split('\n').slice(-15).join('\n');
        const subscribed = [...strikesSubscribed(21)].length;
        throw new Error(
          `${err.message}: ${quoted} contracts quoted; double: ${dbl.requests.length} subscription requests ` +
            `(${subscribed} strikes in full mode), ${dbl.streamed.length} packets streamed; processor status ` +
            `${JSON.stringify(processor.status())}\n--- ingestion ---\n${tail(ingestion.output())}\n--- storage ---\n${tail(storage.output())}`,
        );
      });
      const window1 = [25_800, 25_850, 25_900, 25_950, 26_000, 26_050, 26_100, 26_150, 26_200, 26_250];
      assert.deepEqual([...strikesSubscribed(21)].sort(), window1, '10 strikes around 26,010, full mode (21)');
      const rows = await quoteRows();
      assert.deepEqual([...new Set(rows.map((r) => r.expiry))].sort(), EXPIRIES.slice(0, 2), 'the two nearest expiries');
      const nearMoney = rows.filter((r) => Math.abs(r.strike - 26_010) <= 150);
      assert.ok(nearMoney.length > 0);
      for (const r of nearMoney) {
        assert.ok(r.iv_available, `iv of ${r.instrument_id}`);
        assert.ok(Math.abs(r.iv - SIGMA) < 0.01, `iv ${r.iv} of ${r.instrument_id} (priced at ${SIGMA})`);
        assert.ok(r.option_type === 'CALL' ? r.delta > 0 : r.delta < 0);
        assert.ok(r.gamma > 0);
      }

      // Steady state: packets sent from now on, matched to their rows by (instrument, seq).
      const from = Date.now();
      await new Promise((res) => setTimeout(res, 15_000));
      // Wiggles inside the hysteresis band (2 strikes): no request at all.
      const before = dbl.requests.length;
      for (const s of [26_040, 25_990, 26_070, 26_010]) {
        dbl.setSpot('IDX_I:13', s);
        await new Promise((res) => setTimeout(res, 1_200));
      }
      assert.equal(dbl.requests.length, before, 'a spot moving within the band changes no subscription');
      const until = Date.now();
      const latencies: number[] = [];
      for (const p of dbl.streamed) {
        if (p.sentMs < from || p.sentMs > until - 2_000 || !p.id.startsWith('NSE_FNO:')) continue;
        const seq = contentSeq(istEpochSecondsToUtcMs(p.bytes.readUInt32LE(14)), p.bytes);
        const seen = firstSeen.get(`${p.id}|${seq}`);
        assert.ok(seen !== undefined, `the row of the packet of ${p.id} sent at ${p.sentMs} is stored`);
        latencies.push(seen - p.sentMs);
      }
      const p50 = percentile(latencies, 50);
      const max = Math.max(...latencies);
      console.log(
        `option tick packet → option_quotes row: ${latencies.length} packets, p50 ${p50} ms, p99 ${percentile(latencies, 99)} ms, max ${max} ms`,
      );
      assert.ok(latencies.length >= 500, `${latencies.length} packets measured`);
      assert.ok(max <= 1_000, `every option tick is in option_quotes within 1 s (max ${max} ms)`);

      // Six strikes up: the window re-centres on 26,300.
      const moved = Date.now();
      dbl.setSpot('IDX_I:13', 26_310);
      const window2 = [26_100, 26_150, 26_200, 26_250, 26_300, 26_350, 26_400, 26_450, 26_500, 26_550];
      await waitFor(
        'quotes of the new strikes',
        async () => {
          const r = await quoteRows(`strike >= 26300 AND received_time >= to_timestamp(${moved / 1000})`);
          return new Set(r.map((x) => x.instrument_id)).size >= 24;
        },
        30_000,
        250,
      );
      assert.deepEqual(
        [...new Set(dbl.unsubscribed.map((i) => bySecurityId.get(i.SecurityId)?.strike))].sort(),
        [25_800, 25_850, 25_900, 25_950, 26_000, 26_050],
        'the far strikes are unsubscribed',
      );
      assert.ok(
        dbl.requests.some((r) => r.code === 22),
        'unsubscribed in full mode (22)',
      );
      assert.deepEqual([...strikesSubscribed(21)].sort(), [...new Set([...window1, ...window2])].sort());
      assert.equal(dbl.unsubscribed.length, 24, '6 strikes × CE/PE × 2 expiries');
      const fresh = await quoteRows(`strike >= 26300 AND received_time >= to_timestamp(${moved / 1000})`);
      for (const r of fresh) assert.ok(Math.abs(r.underlying_price - 26_310) < 0.01, 'solved on the new spot');
      await new Promise((res) => setTimeout(res, 2_000));
      const stale = await quoteRows(`strike <= 26050 AND received_time >= to_timestamp(${(Date.now() - 1_000) / 1000})`);
      assert.deepEqual(stale, [], 'no more rows for unsubscribed strikes');
      assert.deepEqual(
        dbl.subscribeErrors,
        [],
        'every request follows the protocol; only subscribed instruments are unsubscribed',
      );
      assert.equal(dbl.connections(), 1);
      assert.equal(await scrapeMetric(PORTS.ingestionMetrics, 'stockify_ingestion_option_contracts'), 40);
      assert.equal(
        await scrapeMetric(PORTS.ingestionMetrics, 'stockify_ingestion_option_window_moves_total'),
        2,
        'placed, then moved once',
      );
    } finally {
      polling = false;
      await poller;
      const code = await stopProcess(ingestion);
      await processor.stop();
      await storage.stop();
      await dbl.close();
      rmSync(dir, { recursive: true, force: true });
      assert.equal(code, 0, ingestion.output().slice(-2000));
    }
  });
});
