import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { fastPathIds, LatestReader } from '../../../services/gateway/latest.ts';
import { tick } from '../storage/fixtures.ts';

const snapshot = codec<Snapshot>('Snapshot');
const bytesOf = (id: string, seq: number): Buffer =>
  snapshot.encode({ instrumentId: id, timeMs: 1_764_480_000_000 + seq, payload: 'tick', tick: tick(id, seq) } as Snapshot);

/** A Redis stand-in: what latest:<id> holds, and every read it was asked for. */
function store(initial: Record<string, Buffer>) {
  const held = new Map(Object.entries(initial));
  const reads: string[][] = [];
  const read = async (ids: string[]) => {
    reads.push(ids);
    return new Map(ids.flatMap((id) => (held.has(id) ? [[id, held.get(id) as Buffer] as const] : [])));
  };
  return { held, reads, read };
}

describe('REST latest from Redis (LatestReader, fastPathIds)', () => {
  test('the fast path takes 1..1000 ids, duplicates dropped in first-seen order; others go to MarketData', () => {
    assert.deepEqual(fastPathIds(['A:1', 'B:2', 'A:1', 'C:3']), ['A:1', 'B:2', 'C:3']);
    assert.equal(fastPathIds([]), undefined);
    assert.equal(fastPathIds(Array.from({ length: 1001 }, (_, i) => `A:${i}`)), undefined);
    assert.equal(fastPathIds(Array.from({ length: 1000 }, (_, i) => `A:${i}`))?.length, 1000);
  });

  test('the body is GetLatestResponse as JSON: snapshots in the order asked, as the gRPC client decodes them', async () => {
    const s = store({ 'A:1': bytesOf('A:1', 1), 'B:2': bytesOf('B:2', 2) });
    const reader = new LatestReader(s.read);
    const body = JSON.parse((await reader.json(['B:2', 'A:1'])) ?? 'null') as { snapshots: Snapshot[] };
    assert.deepEqual(body, { snapshots: [snapshot.decode(bytesOf('B:2', 2)), snapshot.decode(bytesOf('A:1', 1))] });
  });

  test('an id Redis lacks leaves the whole request to MarketData (undefined)', async () => {
    const s = store({ 'A:1': bytesOf('A:1', 1) });
    assert.equal(await new LatestReader(s.read).json(['A:1', 'Z:9']), undefined);
  });

  test('requests of one turn share one Redis read, each id asked once', async () => {
    const s = store({ 'A:1': bytesOf('A:1', 1), 'B:2': bytesOf('B:2', 2), 'C:3': bytesOf('C:3', 3) });
    const reader = new LatestReader(s.read);
    const answers = await Promise.all([reader.json(['A:1', 'B:2']), reader.json(['B:2', 'C:3']), reader.json(['A:1'])]);
    assert.equal(s.reads.length, 1);
    assert.deepEqual([...(s.reads[0] ?? [])].sort(), ['A:1', 'B:2', 'C:3']);
    assert.deepEqual(
      answers.map((a) => (JSON.parse(a ?? 'null') as { snapshots: Snapshot[] }).snapshots.map((x) => x.instrumentId)),
      [['A:1', 'B:2'], ['B:2', 'C:3'], ['A:1']],
    );
    await reader.json(['A:1']);
    assert.equal(s.reads.length, 2, 'a later request reads again: nothing is answered from before it arrived');
  });

  test('a snapshot that changed in Redis is answered new, never from the JSON kept for the old bytes', async () => {
    const s = store({ 'A:1': bytesOf('A:1', 1) });
    const reader = new LatestReader(s.read, { maxCached: 1 });
    const seqOf = async () =>
      (JSON.parse((await reader.json(['A:1'])) ?? 'null') as { snapshots: { tick: { seq: number } }[] }).snapshots[0]?.tick.seq;
    assert.equal(await seqOf(), 1);
    s.held.set('A:1', bytesOf('A:1', 2));
    assert.equal(await seqOf(), 2);
    s.held.set('B:2', bytesOf('B:2', 5));
    await reader.json(['B:2']); // evicts A:1 (maxCached 1)
    assert.equal(await seqOf(), 2);
  });

  test('a failed Redis read rejects every request of the batch (the route then asks MarketData)', async () => {
    const reader = new LatestReader(async () => {
      throw new Error('connection lost');
    });
    const results = await Promise.allSettled([reader.json(['A:1']), reader.json(['B:2'])]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
  });
});
