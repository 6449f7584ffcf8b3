import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseMarketFeed, SpecError } from '../../../operator/crd/validate.ts';
import { RenderError, renderYaml } from '../../../operator/render.ts';

const sample = (): Record<string, unknown> => parse(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
type Doc = { spec: Record<string, Record<string, unknown>> } & Record<string, unknown>;

function expectField(doc: unknown, field: string): void {
  assert.throws(
    () => parseMarketFeed(doc),
    (err: unknown) => err instanceof SpecError && err.field === field,
  );
}

describe('MarketFeed validation', () => {
  test('applies the schema defaults like the API server', () => {
    const feed = parseMarketFeed(sample());
    assert.equal(feed.metadata.namespace, 'default');
    assert.equal(feed.spec.kafka.deletionPolicy, 'Retain');
    assert.equal(feed.spec.paused, false);
    assert.equal(feed.spec.retentionDays, 30);
    // Empty: the builders fill in each component's measured defaults (operator/desired/resources.ts).
    assert.deepEqual(feed.spec.ingestion.resources, {});
    assert.equal(feed.spec.instruments[0]?.optionChain?.segment, 'NSE_FNO');
  });

  test('every sample MarketFeed is valid', () => {
    for (const f of ['simulator', 'dhan', 'replay']) parseMarketFeed(parse(readFileSync(`k8s/samples/${f}.yaml`, 'utf8')));
  });

  test('minReplicas above maxReplicas is rejected on the minReplicas field', () => {
    const doc = sample() as Doc;
    doc.spec.processor = { autoscaling: { minReplicas: 3, maxReplicas: 2 } };
    expectField(doc, 'spec.processor.autoscaling.minReplicas');
  });

  test('maxReplicas above partitionsPerShard is rejected', () => {
    const doc = sample() as Doc;
    doc.spec.storage = { autoscaling: { minReplicas: 1, maxReplicas: 5 } };
    expectField(doc, 'spec.storage.autoscaling.maxReplicas');
  });

  test('a window closing before it opens is rejected', () => {
    const doc = sample() as Doc;
    doc.spec.schedule = { open: [{ days: ['Mon'], from: '15:00', to: '09:00' }] };
    expectField(doc, 'spec.schedule.open[0].from');
  });

  test('a time that is not HH:MM is rejected', () => {
    const doc = sample() as Doc;
    doc.spec.schedule = { open: [{ days: ['Mon'], from: '9:00', to: '15:00' }] };
    expectField(doc, 'spec.schedule.open[0].from');
  });

  test('a dhan source without credentials is rejected', () => {
    const doc = sample() as Doc;
    doc.spec.source = { type: 'dhan' };
    expectField(doc, 'spec.source');
  });

  test('duplicate instruments are rejected', () => {
    const doc = sample() as Doc;
    const list = doc.spec.instruments as unknown as unknown[];
    list.push(list[0]);
    expectField(doc, `spec.instruments[${list.length - 1}]`);
  });

  test('an unknown field is named', () => {
    const doc = sample() as Doc;
    doc.spec.shardz = {};
    expectField(doc, 'spec.shardz');
  });
});

describe('stockify render', () => {
  test('renders the simulator sample as one document per object', () => {
    const out = renderYaml(readFileSync('k8s/samples/simulator.yaml', 'utf8'));
    const docs = out.split(/^---$/m).filter((d) => d.trim());
    // SA + Service + NetworkPolicy + gateway (Deployment, Service, PDB) + 2 shards × (ConfigMap + 3 Deployments + 2 HPAs + 2 PDBs)
    assert.equal(docs.length, 3 + 3 + 2 * 8);
  });

  test('an unknown time zone is an error naming schedule.timezone', () => {
    const text = readFileSync('k8s/samples/dhan.yaml', 'utf8').replace('Asia/Kolkata', 'Asia/Atlantis');
    assert.throws(
      () => renderYaml(text),
      (err: unknown) => err instanceof RenderError && /schedule\.timezone/.test(err.message),
    );
  });

  test('broken YAML is one clear error', () => {
    assert.throws(
      () => renderYaml('spec: [\n'),
      (err: unknown) => err instanceof RenderError && /invalid YAML/.test(err.message),
    );
  });
});
