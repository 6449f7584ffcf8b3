import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../services/core/config.ts';
import { parseUpEnv, parseUpOptions } from '../../../services/up/options.ts';

const quiet = <T>(fn: () => T): T => {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return fn();
  } finally {
    process.stderr.write = write;
  }
};

describe('stockify up options', () => {
  test('flags become typed values: the default gRPC port is where `stockify query` looks', () => {
    const r = parseUpOptions(['-f', 'feed.yaml', '--duration', '90'], { DB_SCHEMA: '' });
    assert.ok(r.ok);
    assert.equal(r.options.file, 'feed.yaml');
    assert.equal(r.options.durationS, 90);
    assert.equal(r.options.grpcPort, 50051);
    assert.equal(r.options.env.DB_SCHEMA, 'public');
  });

  test('a bad flag, a missing file or a stray argument exits 2', () => {
    for (const args of [['-f', 'x', '--duration', 'soon'], ['-f', 'x', '--grpc-port', '-1'], [], ['-f', 'x', 'y']]) {
      assert.deepEqual(
        quiet(() => parseUpOptions(args, {})),
        { ok: false, exitCode: 2 },
        args.join(' '),
      );
    }
  });

  test('the variables it reads are checked once, naming the bad one', () => {
    const env = parseUpEnv({ KAFKA_BROKERS: 'a:1,b:2', DATABASE_URL: 'postgres://u@h/db', DB_SCHEMA: 'up_x' });
    assert.deepEqual(env.KAFKA_BROKERS, ['a:1', 'b:2']);
    assert.equal(env.DB_SCHEMA, 'up_x');
    assert.equal(env.REDIS_URL, undefined);
    assert.throws(
      () => parseUpEnv({ DB_SCHEMA: 'Bad-Name' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'DB_SCHEMA',
    );
    assert.throws(
      () => parseUpEnv({ REDIS_URL: 'http://x' }),
      /config: REDIS_URL is invalid: must be a URL with scheme redis or rediss/,
    );
  });
});
