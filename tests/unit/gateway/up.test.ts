import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import { PlanError, planGateway } from '../../../services/up/plan.ts';

const feed = (auth?: unknown) => {
  const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
  if (auth) doc.spec.auth = auth;
  return parseMarketFeed(doc);
};
const ctx = (env: Record<string, string>) => ({ feed: 'nifty', env, stateDir: '.local/up/nifty', logDir: '.local/logs' });
const local = { grpcEndpoints: ['127.0.0.1:50051', '127.0.0.1:40001'], httpPort: 8080 };

describe('stockify up runs the gateway of spec.gateway', () => {
  test("the built Deployment's args and env, pointed at the local processes", () => {
    const plan = planGateway(feed(), ctx({ REDIS_URL: 'redis://127.0.0.1:6379', PATH: '/bin', SECRET_THING: 'x' }), local);
    assert.deepEqual(plan?.args, ['gateway']);
    assert.equal(plan?.url, 'http://127.0.0.1:8080');
    assert.equal(plan?.env.MARKETDATA_ENDPOINT, '127.0.0.1:50051');
    assert.equal(plan?.env.STATUS_ENDPOINTS, '127.0.0.1:50051,127.0.0.1:40001');
    assert.equal(plan?.env.HTTP_PORT, '8080');
    assert.equal(plan?.env.FEED_NAME, 'nifty');
    assert.equal(plan?.env.PATH, '/bin');
    assert.equal(plan?.env.SECRET_THING, undefined, 'nothing else leaks in');
  });
  test('the HS256 secret comes from the environment, as a Secret would give it; missing, one clear error', () => {
    const f = feed({ hs256SecretRef: { name: 'jwt' } });
    const plan = planGateway(f, ctx({ REDIS_URL: 'redis://r:6379', AUTH_HS256_SECRET: 's'.repeat(32) }), local);
    assert.equal(plan?.env.AUTH_HS256_SECRET, 's'.repeat(32));
    assert.throws(
      () => planGateway(f, ctx({ REDIS_URL: 'redis://r:6379' }), local),
      (e: unknown) => e instanceof PlanError && /AUTH_HS256_SECRET.*Secret jwt/.test(e.message),
    );
  });
  test('no spec.gateway: nothing to run', () => {
    const doc = parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
    delete doc.spec.gateway;
    assert.equal(planGateway(parseMarketFeed(doc), ctx({ REDIS_URL: 'redis://r:6379' }), local), undefined);
  });
});
