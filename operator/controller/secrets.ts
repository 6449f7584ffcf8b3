// The Secrets a feed refers to: present, with the keys its pods will read. Checked on every
// reconcile so a missing one shows as Degraded before a pod fails on it.
import type { MarketFeed } from '../crd/types.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError, statusOf } from './kube.ts';
import type { Problem } from './problems.ts';

interface SecretRef {
  name: string;
  keys: string[];
  /** Where in the spec the reference is, for the message. */
  what: string;
}

function secretRefs(feed: MarketFeed): SecretRef[] {
  const pg = feed.spec.postgres.secretRef;
  const refs: SecretRef[] = [{ name: pg.name, keys: [pg.key], what: 'spec.postgres.secretRef' }];
  const dhan = feed.spec.source.dhan;
  if (feed.spec.source.type === 'dhan' && dhan) {
    const r = dhan.credentialsSecretRef;
    refs.push({ name: r.name, keys: [r.clientIdKey, r.accessTokenKey], what: 'spec.source.dhan.credentialsSecretRef' });
  }
  return refs;
}

async function checkSecret(d: Pick<ReconcilerDeps, 'kube'>, namespace: string, ref: SecretRef): Promise<Problem | undefined> {
  try {
    const secret = await d.kube.core.readNamespacedSecret({ name: ref.name, namespace });
    const missing = ref.keys.filter((k) => secret.data?.[k] === undefined && secret.stringData?.[k] === undefined);
    if (missing.length === 0) return undefined;
    return { reason: 'SecretKeyMissing', message: `Secret ${ref.name} (${ref.what}) has no key ${missing.join(', ')}` };
  } catch (err) {
    if (statusOf(err) === 404) return { reason: 'SecretNotFound', message: `Secret ${ref.name} (${ref.what}) does not exist` };
    return { reason: 'SecretUnreadable', message: `Secret ${ref.name}: ${describeError(err)}` };
  }
}

export async function checkSecrets(d: Pick<ReconcilerDeps, 'kube'>, feed: MarketFeed): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const ref of secretRefs(feed)) {
    const problem = await checkSecret(d, feed.metadata.namespace, ref);
    if (problem) problems.push(problem);
  }
  return problems;
}
