// Parses an untrusted MarketFeed (a file for `stockify render`, or an object from the API server)
// into the typed, defaulted shape the builders take. Errors name the field.
import { isDnsLabel } from '../../services/core/names.ts';
import { SpecError, validate } from './jsonschema.ts';
import { API_VERSION, KIND, specSchema } from './schema.ts';
import type { MarketFeed, MarketFeedSpec } from './types.ts';

export { SpecError } from './jsonschema.ts';

/** Longest feed name: `<feed>-processor-<shard>` must stay a valid 63-character label. */
export const MAX_FEED_NAME = 40;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseSpec(spec: unknown): MarketFeedSpec {
  return validate(specSchema, spec, 'spec') as MarketFeedSpec;
}

export function parseMarketFeed(doc: unknown, defaultNamespace = 'default'): MarketFeed {
  if (!isObject(doc)) throw new SpecError('(document)', 'must be a MarketFeed object');
  if (doc.apiVersion !== API_VERSION)
    throw new SpecError('apiVersion', `must be ${API_VERSION}, got ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== KIND) throw new SpecError('kind', `must be ${KIND}, got ${JSON.stringify(doc.kind)}`);
  const meta = doc.metadata;
  if (!isObject(meta)) throw new SpecError('metadata', 'is required');
  const name = meta.name;
  if (typeof name !== 'string' || !isDnsLabel(name) || name.length > MAX_FEED_NAME) {
    throw new SpecError(
      'metadata.name',
      `must be a DNS label of at most ${MAX_FEED_NAME} characters, got ${JSON.stringify(name)}`,
    );
  }
  const namespace = meta.namespace ?? defaultNamespace;
  if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
    throw new SpecError('metadata.namespace', `must be a DNS label, got ${JSON.stringify(namespace)}`);
  }
  const spec = parseSpec(doc.spec);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { ...(meta as MarketFeed['metadata']), name, namespace },
    spec,
    ...(isObject(doc.status) ? { status: doc.status as MarketFeed['status'] } : {}),
  };
}
