import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientPodManifest, TOKEN_AUDIENCE, TOKEN_FILE } from '../../e2e/client-pod.ts';

type Pod = {
  metadata: { labels: Record<string, string> };
  spec: {
    automountServiceAccountToken: boolean;
    containers: { volumeMounts?: { mountPath: string }[]; command?: string[]; args: string[] }[];
    volumes?: { projected: { sources: { serviceAccountToken: { audience: string; path: string } }[] } }[];
  };
};

describe('the e2e client pod, a user app calling the feed from inside the cluster', () => {
  const base = { name: 'c', namespace: 'ns', image: 'img:1', args: ['query', 'latest', 'IDX_I:13'] };

  test('with a token: only a projected ServiceAccount token of audience stockify, mounted where --token-file reads it', () => {
    const pod = clientPodManifest({ ...base, token: true }) as unknown as Pod;
    assert.equal(pod.spec.automountServiceAccountToken, false);
    const source = pod.spec.volumes?.[0]?.projected.sources[0]?.serviceAccountToken;
    assert.equal(source?.audience, TOKEN_AUDIENCE);
    const mount = pod.spec.containers[0]?.volumeMounts?.[0]?.mountPath;
    assert.equal(`${mount}/${source?.path}`, TOKEN_FILE);
  });

  test('without a token: no token at all, and labelled as a MarketData client the NetworkPolicy admits', () => {
    const pod = clientPodManifest({ ...base, token: false }) as unknown as Pod;
    assert.equal(pod.spec.volumes, undefined);
    assert.equal(pod.spec.containers[0]?.volumeMounts, undefined);
    assert.equal(pod.metadata.labels['stockify.io/client'], 'true');
    assert.equal(pod.spec.containers[0]?.command, undefined, 'the image entrypoint (stockify) runs the args');
  });
});
