import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
