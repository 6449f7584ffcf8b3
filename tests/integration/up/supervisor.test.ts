// The supervisor against real child processes (tiny node scripts): logs, restarts, clean stop.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildSpec, Supervisor } from '../../../services/up/supervisor.ts';

const dir = mkdtempSync(join(tmpdir(), 'stockify-up-supervisor-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const script = (name: string, code: string, env: Record<string, string> = {}): ChildSpec => ({
  name,
  command: process.execPath,
  args: ['-e', code],
  env: { PATH: process.env.PATH ?? '', ...env },
  logFile: join(dir, `${name}.log`),
});

const logOf = (name: string): string => {
  try {
    return readFileSync(join(dir, `${name}.log`), 'utf8');
  } catch {
    return '';
  }
};

const FAST = { initialMs: 100, maxMs: 400, jitter: 'none', resetAfterMs: 60_000 } as const;

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('supervisor', () => {
  test('runs each child with its own environment and appends its output to its log file', async () => {
    const sup = new Supervisor(
      [
        script('greeter', "console.log('hello ' + process.env.WHO); console.error('to stderr'); setInterval(() => {}, 1000)", {
          WHO: 'shard-0',
        }),
      ],
      { backoff: FAST },
    );
    sup.start();
    await until(() => readFileSync(join(dir, 'greeter.log'), 'utf8').includes('to stderr'));
    assert.equal(sup.status()[0]?.phase, 'running');
    assert.ok(sup.status()[0]?.pid);
    assert.deepEqual(await sup.stop(5_000), []);
    assert.match(readFileSync(join(dir, 'greeter.log'), 'utf8'), /hello shard-0\n/);
    assert.equal(sup.status()[0]?.phase, 'stopped');
  });

  test('a child that dies is restarted with growing back-off, and the view learns how it ended', async () => {
    const starts: number[] = [];
    const sup = new Supervisor([script('crasher', 'process.exit(3)')], {
      backoff: FAST,
      onEvent: (e) => {
        if (e.kind === 'start') starts.push(Date.now());
      },
    });
    sup.start();
    await until(() => starts.length >= 4);
    const s = sup.status()[0];
    assert.equal(s?.lastExit, 'exit 3');
    await sup.stop(2_000);
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] ?? t));
    assert.ok((gaps[0] ?? 0) >= 90, `first restart after ~100 ms, was ${gaps[0]}`);
    assert.ok((gaps[1] ?? 0) >= 190, `second restart after ~200 ms, was ${gaps[1]}`);
    assert.ok((gaps[2] ?? 0) >= 390, `third restart after ~400 ms (the cap), was ${gaps[2]}`);
    assert.ok((s?.restarts ?? 0) >= 3);
    assert.equal(sup.status()[0]?.phase, 'stopped');
  });

  test('stop sends SIGTERM and waits for a clean exit', async () => {
    const sup = new Supervisor(
      [
        script(
          'graceful',
          "process.on('SIGTERM', () => { setTimeout(() => { console.log('drained'); process.exit(0); }, 200); }); console.log('armed'); setInterval(() => {}, 1000)",
        ),
      ],
      { backoff: FAST },
    );
    sup.start();
    await until(() => logOf('graceful').includes('armed'), 30_000);
    const started = Date.now();
    assert.deepEqual(await sup.stop(5_000), []);
    assert.ok(Date.now() - started >= 150, 'waited for the drain');
    assert.match(readFileSync(join(dir, 'graceful.log'), 'utf8'), /drained/);
    assert.equal(sup.status()[0]?.restarts, 0, 'a requested stop is no crash');
  });

  test('a child that ignores SIGTERM is killed after the grace period', async () => {
    const sup = new Supervisor(
      [script('stubborn', "process.on('SIGTERM', () => {}); console.log('armed'); setInterval(() => {}, 1000)")],
      {
        backoff: FAST,
      },
    );
    sup.start();
    // Stop only once the child has its SIGTERM handler: a loaded machine may take a while to start node.
    await until(() => logOf('stubborn').includes('armed'), 30_000);
    const started = Date.now();
    assert.deepEqual(await sup.stop(500), ['stubborn']);
    assert.ok(Date.now() - started >= 450);
    assert.equal(sup.status()[0]?.phase, 'stopped');
  });

  test('a child in back-off is not started again once stopping', async () => {
    const sup = new Supervisor([script('flaky', 'process.exit(1)')], { backoff: { ...FAST, initialMs: 300 } });
    sup.start();
    await until(() => sup.status()[0]?.phase === 'backoff');
    await sup.stop(1_000);
    await sleep(500);
    assert.equal(sup.status()[0]?.phase, 'stopped');
    assert.equal(sup.status()[0]?.pid, undefined);
  });
});
