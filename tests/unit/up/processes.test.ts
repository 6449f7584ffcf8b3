import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProcessPlan } from '../../../services/up/plan.ts';
import { type LocalProcess, processRow, refreshProcess, withLocalPorts } from '../../../services/up/processes.ts';

const plan = (component: ProcessPlan['component'], shard: number): ProcessPlan => ({
  name: `f-${component}-${shard}`,
  component,
  shard,
  args: [component],
  env: {},
  shardFile: { path: `s-${shard}.json`, content: '{}' },
  logFile: `f-${component}-${shard}.log`,
});

describe('local processes of a run', () => {
  test('each gets its own ports; storage shard 0 serves MarketData on the port asked for', async () => {
    const ps = await withLocalPorts([plan('ingestion', 0), plan('storage', 0), plan('storage', 1)], 50999);
    assert.equal(ps[1]?.grpcPort, 50999);
    assert.equal(ps[1]?.plan.env.GRPC_PORT, '50999');
    const ports = ps.flatMap((p) => [p.metricsPort, p.grpcPort]);
    assert.equal(new Set(ports).size, ports.length);
  });

  test('a new run keeps what the last one wrote and starts its scrapes afresh', async () => {
    const p: LocalProcess = {
      ...(await withLocalPorts([plan('storage', 0)], 0))[0],
      pid: 1,
      lastReady: true,
      scrapes: [{ atMs: 1, samples: [{ name: 'stockify_storage_rows_written_total', labels: { table: 'ticks' }, value: 7 }] }],
    } as LocalProcess;
    await refreshProcess(p, { name: p.plan.name, phase: 'backoff', restarts: 1 });
    await refreshProcess(p, { name: p.plan.name, phase: 'backoff', restarts: 1, pid: 2 });
    assert.equal(p.pid, 2);
    assert.deepEqual(p.scrapes, []);
    assert.equal(p.lastReady, undefined);
    assert.equal(p.carried.rows, 7);
    assert.deepEqual(p.carried.rowsByTable, { ticks: 7 });
    const row = processRow(p, { name: p.plan.name, phase: 'backoff', restarts: 1, lastExit: 'exit 1' });
    assert.equal(row.phase, 'backoff');
    assert.equal(row.lastExit, 'exit 1');
  });
});
