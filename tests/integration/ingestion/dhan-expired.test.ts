// The Dhan expired-token path: the double answers the subscription with a disconnect packet (code 50,
// reason 807: access token expired) and closes. The shard logs one clear line, reports
// EXPIRED_TOKEN through Shard.GetStatus and the connection-state metric, does not reconnect, and
// keeps serving /healthz (while /readyz says it cannot do its job).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ShardStatus } from '../../../services/core/messages.ts';
import { serviceClient } from '../../../services/core/proto.ts';
import { startDhanDouble } from './dhan-double.ts';
import { encodeDisconnect, encodeTicker } from './dhan-encoder.ts';
import {
  BROKERS,
  baseEnv,
  deleteTopics,
  runId,
  scrapeMetric,
  startIngestion,
  stopProcess,
  waitFor,
  writeShardFile,
} from './helpers.ts';

const feed = `dhanexp-${runId()}`;
after(() => deleteTopics(BROKERS, feed));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function getStatus(address: string): Promise<ShardStatus> {
  const Shard = serviceClient('Shard');
  const client = new Shard(address, grpc.credentials.createInsecure());
  return new Promise<ShardStatus>((resolve, reject) => {
    const call = (
      client as unknown as Record<string, (req: object, opts: object, cb: (e: Error | null, r: ShardStatus) => void) => void>
    ).GetStatus;
    if (!call) return reject(new Error('no GetStatus method'));
    call.call(client, {}, { deadline: Date.now() + 5_000 }, (err, res) => (err ? reject(err) : resolve(res)));
  }).finally(() => client.close());
}

describe('Dhan token expiry', () => {
  test('disconnect reason 807: one error line, EXPIRED_TOKEN in GetStatus and the metric, no reconnect loop, /healthz still served', {
    timeout: 120_000,
  }, async () => {
    const ltt = Math.floor(Date.now() / 1000) + 19_800;
    const dbl = await startDhanDouble({
      clientId: '1000000001',
      token: 'expired-token',
      expectedInstruments: 1,
      frames: () => [
        encodeTicker({ segment: 'NSE_EQ', securityId: 1333 }, 1650.05, ltt),
        encodeDisconnect({ segment: 'NSE_EQ', securityId: 0 }, 807),
      ],
      closeAfterFrames: true,
    });
    const file = writeShardFile({
      feed,
      namespace: 'itest',
      shard: 0,
      shardCount: 1,
      source: { type: 'dhan', mode: 'ticker', optionChainPollSeconds: 3 },
      kafka: { partitionsPerShard: 1, replicationFactor: 1 },
      instruments: [{ symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' }],
    });
    const base = await baseEnv(feed, 0, 1, file);
    const env = {
      ...base,
      DHAN_CLIENT_ID: '1000000001',
      DHAN_ACCESS_TOKEN: 'expired-token',
      DHAN_FEED_URL: dbl.feedUrl,
      DHAN_API_URL: dbl.apiUrl,
    };
    const proc = startIngestion(env);
    const metrics = base.METRICS_PORT ?? '';
    const grpcAddress = `127.0.0.1:${base.GRPC_PORT}`;
    try {
      let status: ShardStatus | undefined;
      await waitFor(
        'GetStatus to report EXPIRED_TOKEN',
        async () => {
          status = await getStatus(grpcAddress);
          return status.connectionState === 'EXPIRED_TOKEN';
        },
        60_000,
        250,
      );
      assert.equal(status?.feed, feed);
      // The gauge is refreshed every 5 s.
      await waitFor(
        'connection_state{state="EXPIRED_TOKEN"} = 1',
        async () => (await scrapeMetric(metrics, 'stockify_ingestion_connection_state', 'state="EXPIRED_TOKEN"')) === 1,
        15_000,
      );
      assert.equal(await scrapeMetric(metrics, 'stockify_ingestion_connection_state', 'state="CONNECTED"'), 0);

      // Long enough for several reconnects at the 1 s base back-off, were there a loop.
      await sleep(5_000);
      assert.equal(dbl.connections(), 1, 'no reconnect after the token expired');
      assert.equal((await scrapeMetric(metrics, 'stockify_ingestion_reconnects_total')) ?? 0, 0);

      const health = await fetch(`http://127.0.0.1:${metrics}/healthz`);
      assert.equal(health.status, 200, '/healthz still served');
      const ready = await fetch(`http://127.0.0.1:${metrics}/readyz`);
      assert.equal(ready.status, 503, '/readyz reports that the shard cannot do its job');
      assert.equal((await getStatus(grpcAddress)).connectionState, 'EXPIRED_TOKEN', 'status keeps serving');

      const lines = proc
        .output()
        .split('\n')
        .filter((l) => /access token expired or invalid/.test(l));
      assert.equal(lines.length, 1, `exactly one clear line:\n${proc.output().slice(-2000)}`);
      assert.match(lines[0] ?? '', /"level":"error"/);
      assert.match(lines[0] ?? '', /807/, 'the line names the reason');
      assert.ok(!proc.output().includes('expired-token'), 'the token itself is never logged');
    } finally {
      const code = await stopProcess(proc);
      await dbl.close();
      assert.equal(code, 0, proc.output().slice(-2000));
    }
  });
});
