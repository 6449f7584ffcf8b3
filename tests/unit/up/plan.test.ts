import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { standaloneProcesses } from '../../../operator/desired/index.ts';
import { FeedError, loadFeed } from '../../../services/up/feed.ts';
import { PlanError, planProcesses, watchedInstruments, withPorts } from '../../../services/up/plan.ts';

const FEED = `apiVersion: stockify.io/v1alpha1
kind: MarketFeed
metadata: {name: demo}
spec:
  shards: 2
  source: {type: simulator}
  instruments:
    - {symbol: RELIANCE, securityId: "2885", segment: NSE_EQ, kind: equity}
    - {symbol: NIFTY, securityId: "13", segment: IDX_I, kind: index, optionChain: {expiries: 1, strikes: 5}}
    - {symbol: BANKNIFTY, securityId: "25", segment: IDX_I, kind: index, optionChain: {expiries: 1, strikes: 5}}
    - {symbol: INFY, securityId: "1594", segment: NSE_EQ, kind: equity}
  kafka: {bootstrapServers: "kafka:9092"}
  postgres: {secretRef: {name: pg}}
  redis: {url: "redis://redis:6379"}
`;

const ENV = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  DATABASE_URL: 'postgres://u:secret@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  PATH: '/usr/bin',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
  UNRELATED: 'not passed',
};
const CTX = { feed: 'demo', env: ENV, stateDir: 'state/up/demo', logDir: 'state/logs' };

describe('MarketFeed file', () => {
  test('a valid file gives the defaulted MarketFeed', () => {
    const feed = loadFeed(FEED);
    assert.equal(feed.metadata.name, 'demo');
    assert.equal(feed.metadata.namespace, 'default');
    assert.equal(feed.spec.kafka.partitionsPerShard, 3);
  });

  test('invalid YAML is one error saying so', () => {
    assert.throws(
      () => loadFeed('spec: [unclosed\n'),
      (e: Error) => e instanceof FeedError && /^invalid YAML: /.test(e.message),
    );
  });

  test('an invalid MarketFeed names the field', () => {
    assert.throws(
      () => loadFeed(FEED.replace('shards: 2', 'shards: 0')),
      (e: Error) => e instanceof FeedError && /spec\.shards/.test(e.message),
    );
    assert.throws(() => loadFeed(FEED.replace('kind: MarketFeed', 'kind: Deployment')), /kind must be MarketFeed/);
  });

  test('an empty file or two feeds in one file are refused', () => {
    assert.throws(() => loadFeed('\n'), /no MarketFeed found/);
    assert.throws(() => loadFeed(`${FEED}---\n${FEED.replace('name: demo', 'name: other')}`), /2 MarketFeeds in one file/);
  });
});

describe('processes from the built Deployments', () => {
  const built = standaloneProcesses(loadFeed(FEED));

  test('one process per component and shard, ordered by shard, running the container args', () => {
    const plans = planProcesses(built, CTX);
    assert.deepEqual(
      plans.map((p) => `${p.name} ${p.args.join(' ')}`),
      [
        'demo-ingestion-0 ingestion',
        'demo-processor-0 processor',
        'demo-storage-0 storage',
        'demo-ingestion-1 ingestion',
        'demo-processor-1 processor',
        'demo-storage-1 storage',
      ],
    );
  });

  test('service URLs and Secret values come from the local environment, not the spec', () => {
    const storage = planProcesses(built, CTX).find((p) => p.name === 'demo-storage-0');
    assert.equal(storage?.env.KAFKA_BROKERS, '127.0.0.1:9092');
    assert.equal(storage?.env.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(storage?.env.DATABASE_URL, 'postgres://u:secret@127.0.0.1:5432/db');
    const ingestion = planProcesses(built, CTX).find((p) => p.name === 'demo-ingestion-0');
    assert.equal(ingestion?.env.DATABASE_URL, undefined, 'only what the Deployment declares');
  });

  test('the feed identity comes from the Deployment; only PATH-like and OTEL variables pass through', () => {
    const p = planProcesses(built, CTX)[4];
    assert.equal(p?.env.FEED_NAME, 'demo');
    assert.equal(p?.env.FEED_NAMESPACE, 'default');
    assert.equal(p?.env.SHARD_INDEX, '1');
    assert.equal(p?.env.SHARD_COUNT, '2');
    assert.equal(p?.env.PATH, '/usr/bin');
    assert.equal(p?.env.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://collector:4318');
    assert.equal(p?.env.UNRELATED, undefined);
  });

  test("the Deployment's NODE_OPTIONS apply locally, with the caller's after them (theirs win)", () => {
    const [alone] = planProcesses(built, CTX);
    assert.equal(alone?.env.NODE_OPTIONS, '--max-semi-space-size=16');
    const [withCaller] = planProcesses(built, { ...CTX, env: { ...ENV, NODE_OPTIONS: '--max-semi-space-size=32' } });
    assert.equal(withCaller?.env.NODE_OPTIONS, '--max-semi-space-size=16 --max-semi-space-size=32');
  });

  test('INSTRUMENTS_FILE points at the local shard file, which holds the ConfigMap content', () => {
    const plans = planProcesses(built, CTX);
    const p = plans.find((x) => x.name === 'demo-processor-1');
    assert.equal(p?.env.INSTRUMENTS_FILE, 'state/up/demo/shard-1.json');
    assert.equal(p?.shardFile.path, 'state/up/demo/shard-1.json');
    const file = JSON.parse(p?.shardFile.content ?? '{}') as { shard: number; shardCount: number; feed: string };
    assert.deepEqual([file.feed, file.shard, file.shardCount], ['demo', 1, 2]);
    const ids = plans
      .filter((x) => x.component === 'storage')
      .flatMap((x) =>
        (JSON.parse(x.shardFile.content) as { instruments: { securityId: string }[] }).instruments.map((i) => i.securityId),
      );
    assert.deepEqual(ids.sort(), ['13', '1594', '25', '2885'], 'every instrument in exactly one shard');
  });

  test('logs go to <logDir>/<feed>-<component>-<shard>.log', () => {
    assert.equal(planProcesses(built, CTX)[1]?.logFile, 'state/logs/demo-processor-0.log');
  });

  test('ports are left to withPorts, which gives each process its own', () => {
    const [p] = planProcesses(built, CTX);
    assert.equal(p?.env.GRPC_PORT, undefined);
    assert.equal(p?.env.METRICS_PORT, undefined);
    const ported = p && withPorts(p, { metrics: 40001, grpc: 40002 });
    assert.equal(ported?.env.METRICS_PORT, '40001');
    assert.equal(ported?.env.GRPC_PORT, '40002');
  });

  test('a missing service URL or Secret value is one error naming the variable', () => {
    assert.throws(
      () => planProcesses(built, { ...CTX, env: { ...ENV, DATABASE_URL: undefined } }),
      (e: Error) => e instanceof PlanError && /^DATABASE_URL is not set/.test(e.message),
    );
    const dhan = standaloneProcesses(
      loadFeed(
        FEED.replace('source: {type: simulator}', 'source: {type: dhan, dhan: {credentialsSecretRef: {name: dhan-creds}}}'),
      ),
    );
    assert.throws(
      () => planProcesses(dhan, CTX),
      /DHAN_CLIENT_ID is not set: in a cluster it comes from Secret dhan-creds \(key clientId\)/,
    );
    const ok = planProcesses(dhan, { ...CTX, env: { ...ENV, DHAN_CLIENT_ID: 'c', DHAN_ACCESS_TOKEN: 't' } });
    assert.equal(ok[0]?.env.DHAN_ACCESS_TOKEN, 't');
  });
});

describe('what the view watches', () => {
  test('index levels in MarketFeed order and the chain of the first underlying with one', () => {
    const w = watchedInstruments(loadFeed(FEED).spec.instruments);
    assert.deepEqual(w.levels, [
      { symbol: 'NIFTY', instrumentId: 'IDX_I:13' },
      { symbol: 'BANKNIFTY', instrumentId: 'IDX_I:25' },
    ]);
    assert.deepEqual(w.chain, { symbol: 'NIFTY', instrumentId: 'IDX_I:13' });
  });

  test('without indices the first instruments are shown, and no chain when none has one', () => {
    const w = watchedInstruments([{ symbol: 'INFY', segment: 'NSE_EQ', securityId: '1594', kind: 'equity' }]);
    assert.deepEqual(w.levels, [{ symbol: 'INFY', instrumentId: 'NSE_EQ:1594' }]);
    assert.equal(w.chain, undefined);
  });
});
