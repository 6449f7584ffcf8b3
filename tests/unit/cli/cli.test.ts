import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../../services/cli.ts', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

test('--help lists every component and tool subcommand', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  for (const c of ['ingestion', 'processor', 'storage', 'operator', 'render', 'query', 'up', 'greeks']) {
    assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
  }
});

test('an unknown subcommand prints usage and exits 2', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.match(r.stderr, /Usage: stockify/);
});

test('no subcommand prints usage and exits 2', () => {
  assert.equal(run().status, 2);
});

test('the launcher services/stockify.js runs the same command line, exit codes included, on a compile cache', () => {
  const launcher = fileURLToPath(new URL('../../../services/stockify.js', import.meta.url));
  const cache = mkdtempSync(join(tmpdir(), 'stockify-compile-cache-'));
  try {
    const env = { PATH: process.env.PATH, NODE_COMPILE_CACHE: cache };
    const help = spawnSync(process.execPath, [launcher, '--help'], { encoding: 'utf8', env });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^ {2}query /m);
    const unknown = spawnSync(process.execPath, [launcher, 'frobnicate'], { encoding: 'utf8', env });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    // The TypeScript it loaded went into the cache (what spares later starts the type stripper).
    assert.ok(readdirSync(cache, { recursive: true }).length > 1, 'the compile cache stayed empty');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
