import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { flags, parseCommand } from '../../../services/core/cli.ts';

const USAGE = 'Usage: demo [--wait <seconds>] [--port <port>]';
const OPTIONS = { wait: { type: 'string' }, port: { type: 'string', default: '50051' }, name: { type: 'string' } } as const;
const SCHEMA = z.object({ wait: flags.seconds().optional(), port: flags.port() });

/** Runs `fn` with stdout and stderr captured. */
function captured<T>(fn: () => T): { result: T; stdout: string; stderr: string } {
  const out = { stdout: '', stderr: '' };
  const write = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((chunk: string) => {
    out.stdout += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    out.stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: fn(), ...out };
  } finally {
    process.stdout.write = write.stdout;
    process.stderr.write = write.stderr;
  }
}

describe('parseCommand', () => {
  test('a schema turns flag text into typed values and keeps the other flags as given', () => {
    const { result } = captured(() =>
      parseCommand(['--wait', '1.5', '--name', 'x', 'pos'], { usage: USAGE, options: OPTIONS, schema: SCHEMA }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.parsed.flags, { wait: 1.5, port: 50051, name: 'x' });
    assert.deepEqual(result.parsed.positionals, ['pos']);
  });

  test('a bad value prints one line naming the flag and the value, then the usage; exit 2', () => {
    const { result, stderr } = captured(() =>
      parseCommand(['--port', '70000'], { usage: USAGE, options: OPTIONS, schema: SCHEMA }),
    );
    assert.deepEqual(result, { ok: false, exitCode: 2 });
    assert.equal(stderr, `--port: must be a port number (0 = any free port), got '70000'\n\n${USAGE}\n`);
  });

  test('numbers must be whole numbers when they say so, and an empty value is no number', () => {
    for (const bad of ['', ' ', 'abc', '-1', '0']) {
      const r = z.object({ n: flags.seconds() }).safeParse({ n: bad });
      assert.equal(r.success, false, `'${bad}'`);
    }
    assert.equal(z.object({ n: flags.positiveInt() }).safeParse({ n: '1.5' }).success, false);
    assert.equal(z.object({ t: flags.isoTime() }).parse({ t: '2026-01-01T00:00:00Z' }).t, Date.UTC(2026, 0, 1));
  });

  test('without a schema it answers as before; unknown flags print the usage, --help exits 0', () => {
    const plain = captured(() => parseCommand(['--name', 'x'], { usage: USAGE, options: OPTIONS }));
    assert.ok(plain.result.ok);
    assert.equal(plain.result.parsed.values.name, 'x');
    const unknown = captured(() => parseCommand(['--bogus'], { usage: USAGE, options: OPTIONS }));
    assert.deepEqual(unknown.result, { ok: false, exitCode: 2 });
    assert.match(unknown.stderr, /--bogus/);
    const help = captured(() => parseCommand(['--help'], { usage: USAGE, options: OPTIONS, schema: SCHEMA }));
    assert.deepEqual(help.result, { ok: false, exitCode: 0 });
    assert.equal(help.stdout, `${USAGE}\n`);
  });
});
