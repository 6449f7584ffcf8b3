import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignShards, movedInstruments, shardOf } from '../../../services/core/sharding.ts';

const ids = Array.from({ length: 10_000 }, (_, i) => `NSE_FNO:${40_000 + i}`);

describe('rendezvous sharding', () => {
  test('is deterministic: the same instrument always lands on the same shard', () => {
    for (const id of ids.slice(0, 500)) assert.equal(shardOf(id, 7), shardOf(id, 7));
  });

  test('spreads 10,000 instruments over 8 shards within ±10% of even', () => {
    const groups = assignShards(ids, 8, (id) => id);
    for (const g of groups) assert.ok(Math.abs(g.length - 1250) < 125, `shard size ${g.length}`);
    assert.equal(
      groups.reduce((n, g) => n + g.length, 0),
      ids.length,
    );
  });

  for (const [from, to] of [
    [4, 5],
    [16, 17],
  ] as const) {
    test(`resharding ${from}→${to} moves about 1/${to} of 10,000 instruments, all to the new shard`, () => {
      const moved = movedInstruments(ids, from, to);
      const fraction = moved.length / ids.length;
      const expected = 1 / to;
      console.log(
        `resharding ${from}→${to}: moved ${moved.length}/${ids.length} = ${fraction.toFixed(4)} (ideal ${expected.toFixed(4)})`,
      );
      assert.ok(Math.abs(fraction - expected) <= 0.1 * expected, `moved fraction ${fraction} not within 10% of ${expected}`);
      const betweenSurvivors = moved.filter((m) => m.to !== to - 1);
      assert.equal(betweenSurvivors.length, 0, 'an instrument moved between two shards that both stay');
    });
  }

  test('rejects a shard count below 1', () => {
    assert.throws(() => shardOf('IDX_I:13', 0), /positive integer/);
  });
});
