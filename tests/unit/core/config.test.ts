import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../../services/core/config.ts';

const configModule = fileURLToPath(new URL('../../../services/core/config.ts', import.meta.url));

describe('config', () => {
  test('parses typed values and applies defaults', () => {
    const cfg = loadConfig(['KAFKA_BROKERS', 'SHARD_INDEX', 'SHARD_COUNT', 'GRPC_PORT', 'DHAN_FEED_URL'], {
      KAFKA_BROKERS: 'a:9092,b:9093',
      SHARD_INDEX: '1',
      SHARD_COUNT: '4',
    });
    assert.deepEqual(cfg.KAFKA_BROKERS, ['a:9092', 'b:9093']);
    assert.equal(cfg.SHARD_INDEX, 1);
    assert.equal(cfg.GRPC_PORT, 50051);
    assert.equal(cfg.DHAN_FEED_URL, 'wss://api-feed.dhan.co');
  });

  test('a missing variable is named', () => {
    assert.throws(
      () => loadConfig(['FEED_NAME'], {}),
      (err: unknown) => err instanceof ConfigError && err.variable === 'FEED_NAME' && /is required/.test(err.message),
    );
  });

  test('a malformed value is named with its problem', () => {
    assert.throws(() => loadConfig(['METRICS_PORT'], { METRICS_PORT: 'ninety' }), /METRICS_PORT is invalid/);
    assert.throws(() => loadConfig(['KAFKA_BROKERS'], { KAFKA_BROKERS: 'kafka' }), /KAFKA_BROKERS is invalid: must be host:port/);
    assert.throws(() => loadConfig(['REDIS_URL'], { REDIS_URL: 'http://x' }), /REDIS_URL is invalid/);
  });

  test('SHARD_INDEX must be below SHARD_COUNT', () => {
    assert.throws(
      () => loadConfig(['SHARD_INDEX', 'SHARD_COUNT'], { SHARD_INDEX: '4', SHARD_COUNT: '4' }),
      /SHARD_INDEX is invalid/,
    );
  });

  test('a process with bad config prints one line naming the variable and exits 2', () => {
    const script = `import { loadConfigOrExit } from ${JSON.stringify(configModule)}; loadConfigOrExit(['SHARD_COUNT']);`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH, SHARD_COUNT: 'zero' },
      encoding: 'utf8',
    });
    assert.equal(child.status, 2);
    const lines = child.stderr.trim().split('\n');
    assert.equal(lines.length, 1, child.stderr);
    assert.match(lines[0] ?? '', /^config: SHARD_COUNT is invalid/);
  });
});
