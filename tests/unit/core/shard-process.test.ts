import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../services/core/config.ts';

const moduleUrl = JSON.stringify(fileURLToPath(new URL('../../../services/core/shard-process.ts', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'shard-process-'));
const goodFile = join(dir, 'shard.json');
writeFileSync(
  goodFile,
  JSON.stringify({
    feed: 'f',
    namespace: 'default',
    shard: 1,
    shardCount: 2,
    source: { type: 'simulator' },
    kafka: {},
    instruments: [],
  }),
);
const baseEnv = {
  PATH: process.env.PATH,
  KAFKA_BROKERS: 'localhost:9092',
  FEED_NAME: 'f',
  SHARD_INDEX: '1',
  SHARD_COUNT: '2',
  INSTRUMENTS_FILE: goodFile,
};

/** Runs parseShardStart in a child (it reads process.env and writes stderr) and prints its result. */
function start(env: Record<string, string | undefined>, args: string[] = [], must = false) {
  const script = `
    import { z } from 'zod';
    import { parseShardStart } from ${moduleUrl};
    const r = parseShardStart(${JSON.stringify(args)}, {
      component: 'storage', usage: 'Usage: test', options: { limit: { type: 'string' } },
      flags: z.object({ limit: z.string().regex(/^\\d+$/, 'is not a non-negative integer').transform(Number).optional() }),
      env: ['DB_SCHEMA'], shardFileMustMatch: ${must},
    });
    process.stdout.write(JSON.stringify(r.ok ? { flags: r.flags, schema: r.config.DB_SCHEMA, shard: r.shard.shard } : r));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...baseEnv, ...env },
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../../../', import.meta.url)),
  });
  return { out: child.stdout ? JSON.parse(child.stdout) : undefined, err: child.stderr.trim() };
}

describe('shard process start-up', () => {
  test('flags, variables and the shard file parse into typed values', () => {
    const { out, err } = start({}, ['--limit', '7']);
    assert.equal(err, '');
    assert.deepEqual(out, { flags: { limit: 7 }, schema: 'public', shard: 1 });
  });

  test('every kind of bad INSTRUMENTS_FILE is the same one line, exit code 2', () => {
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{');
    const badSchema = join(dir, 'schema.json');
    writeFileSync(badSchema, JSON.stringify({ feed: 'f' }));
    for (const file of [join(dir, 'missing.json'), notJson, badSchema]) {
      const { out, err } = start({ INSTRUMENTS_FILE: file });
      assert.deepEqual(out, { ok: false, exitCode: 2 });
      assert.equal(err.split('\n').length, 1, err);
      assert.ok(err.startsWith(`config: INSTRUMENTS_FILE is invalid: ${file}: `), err);
    }
  });

  test('a bad flag, a bad variable and a file for another shard are refused the same way', () => {
    const cases: [Record<string, string>, string[], boolean, RegExp][] = [
      [{}, ['--limit', 'x'], false, /^config: --limit is invalid: 'x' is not a non-negative integer$/],
      [{ DB_SCHEMA: 'Bad-Name' }, [], false, /^config: DB_SCHEMA is invalid: must be a lowercase SQL identifier$/],
      [
        { SHARD_INDEX: '0' },
        [],
        true,
        /^config: INSTRUMENTS_FILE is invalid: it is for shard 1\/2, but SHARD_INDEX\/SHARD_COUNT say 0\/2$/,
      ],
    ];
    for (const [env, args, must, line] of cases) {
      const { out, err } = start(env, args, must);
      assert.deepEqual(out, { ok: false, exitCode: 2 });
      assert.match(err, line);
    }
  });

  test('a stray argument is a usage error (exit code 2)', () => {
    const { out, err } = start({}, ['extra']);
    assert.deepEqual(out, { ok: false, exitCode: 2 });
    assert.match(err, /unexpected argument 'extra'/);
  });

  test('the storage test hook is a boolean read through the schema', () => {
    assert.equal(
      loadConfig(['STORAGE_TEST_CRASH_BEFORE_COMMIT'], { STORAGE_TEST_CRASH_BEFORE_COMMIT: '1' })
        .STORAGE_TEST_CRASH_BEFORE_COMMIT,
      true,
    );
    assert.equal(loadConfig(['STORAGE_TEST_CRASH_BEFORE_COMMIT'], {}).STORAGE_TEST_CRASH_BEFORE_COMMIT, false);
  });
});
