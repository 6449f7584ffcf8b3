import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadOperatorEnv } from '../../../operator/controller/config.ts';
import { ConfigError } from '../../../services/core/config.ts';

describe('operator environment', () => {
  test('unset and empty variables are absent; set ones are typed values', () => {
    assert.deepEqual(loadOperatorEnv({ WATCH_NAMESPACE: '', STOCKIFY_IMAGE: 'stockify:1.2' }), {
      STOCKIFY_IMAGE: 'stockify:1.2',
    });
    assert.deepEqual(loadOperatorEnv({ WATCH_NAMESPACE: 'markets', POD_NAME: 'op-7d9f', POD_NAMESPACE: 'stockify-system' }), {
      WATCH_NAMESPACE: ['markets'],
      POD_NAME: 'op-7d9f',
      POD_NAMESPACE: 'stockify-system',
    });
  });

  test('WATCH_NAMESPACE is a comma-separated list of namespaces (blanks and repeats dropped)', () => {
    assert.deepEqual(loadOperatorEnv({ WATCH_NAMESPACE: 'markets, markets-test,,markets' }).WATCH_NAMESPACE, [
      'markets',
      'markets-test',
    ]);
    assert.throws(() => loadOperatorEnv({ WATCH_NAMESPACE: 'markets,Bad' }), ConfigError);
    assert.equal(loadOperatorEnv({ WATCH_SECRETS: 'true' }).WATCH_SECRETS, true);
    assert.equal(loadOperatorEnv({ WATCH_SECRETS: 'false' }).WATCH_SECRETS, false);
    assert.throws(() => loadOperatorEnv({ WATCH_SECRETS: 'yes' }), ConfigError);
  });

  test('a namespace that is not a DNS label is refused with one line naming the variable', () => {
    for (const [name, value] of [
      ['WATCH_NAMESPACE', 'Markets'],
      ['WATCH_NAMESPACE', 'a'.repeat(64)],
      ['POD_NAMESPACE', 'x.y'],
    ] as const) {
      assert.throws(
        () => loadOperatorEnv({ [name]: value }),
        (err: unknown) =>
          err instanceof ConfigError && err.variable === name && /^config: \S+ is invalid: .*DNS label/.test(err.message),
      );
    }
  });
});
