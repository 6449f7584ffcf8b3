// The Secrets a feed refers to: present, with the keys its pods will read. Checked on every
// reconcile so a missing one shows as Degraded before a pod fails on it; the hash of what each
// component reads goes on its pod template, so a rotated Secret rolls those pods.
import type { MarketFeed } from '../crd/types.ts';
import { type Component, hashOf } from '../desired/index.ts';
import type { SecretHashes } from '../desired/secret-hash.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError, statusOf } from './kube.ts';
import type { Problem } from './problems.ts';

interface SecretRef {
  name: string;
  keys: string[];
  /** Where in the spec the reference is, for the message. */
  what: string;
  /** The component whose pods read it. */
  component: Component;
}

function secretRefs(feed: MarketFeed): SecretRef[] {
  const pg = feed.spec.postgres.secretRef;
  const refs: SecretRef[] = [{ name: pg.name, keys: [pg.key], what: 'spec.postgres.secretRef', component: 'storage' }];
  const dhan = feed.spec.source.dhan;
  if (feed.spec.source.type === 'dhan' && dhan) {
    const r = dhan.credentialsSecretRef;
    // feedUrl and apiUrl are optional keys the ingestion pods read too (deployment.ts).
    refs.push({
      name: r.name,
      keys: [r.clientIdKey, r.accessTokenKey],
      what: 'spec.source.dhan.credentialsSecretRef',
      component: 'ingestion',
    });
  }
  return refs;
}

/** The keys a component reads from a Secret: the required ones and, for Dhan, the optional endpoints. */
const readKeys = (ref: SecretRef): string[] => (ref.component === 'ingestion' ? [...ref.keys, 'feedUrl', 'apiUrl'] : ref.keys);

interface SecretCheck {
  problem?: Problem;
  /** Hash of the values the component reads, when the Secret could be read. */
  hash?: string;
}

async function checkSecret(d: Pick<ReconcilerDeps, 'kube'>, namespace: string, ref: SecretRef): Promise<SecretCheck> {
  try {
    const secret = await d.kube.core.readNamespacedSecret({ name: ref.name, namespace });
    const hash = hashOf(readKeys(ref).map((k) => [k, secret.data?.[k] ?? secret.stringData?.[k] ?? null]));
    const missing = ref.keys.filter((k) => secret.data?.[k] === undefined && secret.stringData?.[k] === undefined);
    if (missing.length === 0) return { hash };
    return {
      hash,
      problem: { reason: 'SecretKeyMissing', message: `Secret ${ref.name} (${ref.what}) has no key ${missing.join(', ')}` },
    };
  } catch (err) {
    if (statusOf(err) === 404)
      return { problem: { reason: 'SecretNotFound', message: `Secret ${ref.name} (${ref.what}) does not exist` } };
    return { problem: { reason: 'SecretUnreadable', message: `Secret ${ref.name}: ${describeError(err)}` } };
  }
}

/** Problems with the feed's Secrets, and the hash of what each component reads from them. */
export async function readSecrets(
  d: Pick<ReconcilerDeps, 'kube'>,
  feed: MarketFeed,
): Promise<{ problems: Problem[]; hashes: SecretHashes }> {
  const problems: Problem[] = [];
  const hashes: SecretHashes = {};
  for (const ref of secretRefs(feed)) {
    const check = await checkSecret(d, feed.metadata.namespace, ref);
    if (check.problem) problems.push(check.problem);
    if (check.hash) hashes[ref.component] = check.hash;
  }
  return { problems, hashes };
}

export async function checkSecrets(d: Pick<ReconcilerDeps, 'kube'>, feed: MarketFeed): Promise<Problem[]> {
  return (await readSecrets(d, feed)).problems;
}

/**
 * Names of the Secrets a feed as stored refers to (before defaulting: the raw object of the
 * informer cache), for the Secret watch to find the feeds a changed Secret concerns.
 */
export function referencedSecretNames(spec: unknown): string[] {
  const s = (spec ?? {}) as {
    postgres?: { secretRef?: { name?: unknown } };
    source?: { type?: unknown; dhan?: { credentialsSecretRef?: { name?: unknown } } };
  };
  const names = [s.postgres?.secretRef?.name];
  if (s.source?.type === 'dhan') names.push(s.source.dhan?.credentialsSecretRef?.name);
  return names.filter((n): n is string => typeof n === 'string');
}
