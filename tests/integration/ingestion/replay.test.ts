// The replay source end to end against the real broker: a JSON Lines and a CSV recording, each with
// a malformed line, replayed by `stockify ingestion` — every good line in Kafka in order per
// instrument, the malformed one in the DLQ with its reason and original bytes; speed N paces the
// sends by the recorded gaps divided by N, speed 0 does not wait.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { DeadLetter, RawRecord, Tick } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { dlqTopic, rawTopic } from '../../../services/core/topics.ts';
import { BROKERS, baseEnv, consumeAll, deleteTopics, runId, startIngestion, stopProcess, writeShardFile } from './helpers.ts';

const raw = codec<RawRecord>('RawRecord');
const dlq = codec<DeadLetter>('DeadLetter');
const prefix = `replay-${runId()}`;
after(() => deleteTopics(BROKERS, prefix));

// 2026-11-26 09:15:00 IST; 40 lines 200 ms apart (8 s recorded), two instruments alternating.
const T0 = Date.parse('2026-11-26T09:15:00+05:30');
const GOOD = 40;
const lines = Array.from({ length: GOOD }, (_, i) => ({
  time: T0 + i * 200,
  instrumentId: i % 2 === 0 ? 'NSE_EQ:1333' : 'IDX_I:13',
  symbol: i % 2 === 0 ? 'HDFCBANK' : 'NIFTY',
  price: i % 2 === 0 ? 1650 + i / 100 : 26000 + i,
  quantity: i + 1,
}));
const MALFORMED_AT = 17; // inserted before good line 17
const instruments = [
  { symbol: 'HDFCBANK', securityId: '1333', segment: 'NSE_EQ', kind: 'equity' },
  { symbol: 'NIFTY', securityId: '13', segment: 'IDX_I', kind: 'index' },
];

function recording(format: 'jsonl' | 'csv', dir: string): { path: string; malformed: string } {
  const body: string[] = [];
  let malformed: string;
  if (format === 'jsonl') {
    malformed = '{"time": 1795672800250, "instrumentId": "NSE_EQ:1333", "price": ';
    body.push('# a recorded session', ...lines.map((l) => JSON.stringify(l)));
  } else {
    malformed = `${T0 + 3_400},NSE_EQ:1333,HDFCBANK,1650.5`; // one cell short
    body.push(
      'time,instrumentId,symbol,price,quantity',
      ...lines.map((l) => `${l.time},${l.instrumentId},${l.symbol},${l.price},${l.quantity}`),
    );
  }
  body.splice(MALFORMED_AT + 1, 0, malformed);
  const path = join(dir, `session.${format}`);
  writeFileSync(path, `${body.join('\n')}\n`);
  return { path, malformed };
}

async function replay(format: 'jsonl' | 'csv', speed: number) {
  const feed = `${prefix}-${format}-${speed}`;
  const { path, malformed } = recording(format, mkdtempSync(join(tmpdir(), 'stockify-replay-')));
  const file = writeShardFile({
    feed,
    namespace: 'itest',
    shard: 0,
    shardCount: 1,
    source: { type: 'replay', path, speed },
    kafka: { partitionsPerShard: 2, replicationFactor: 1 },
    instruments,
  });
  const proc = startIngestion(await baseEnv(feed, 0, 1, file), ['--exit-when-done']);
  try {
    const code = await proc.exited;
    assert.equal(code, 0, proc.output().slice(-3000));
  } finally {
    await stopProcess(proc);
  }
  const messages = await consumeAll(BROKERS, rawTopic('itest', feed, 0), GOOD, 30_000);
  const letters = await consumeAll(BROKERS, dlqTopic('itest', feed), 1, 30_000);
  return { messages, letters, malformed };
}

function checkContent(r: Awaited<ReturnType<typeof replay>>): void {
  assert.equal(r.messages.length, GOOD, 'every good line is in Kafka, once');
  const ticks = r.messages.map((m) => {
    const rec = raw.decode(m.value);
    assert.equal(rec.payload, 'tick');
    const t = (rec as Extract<RawRecord, { payload: 'tick' }>).tick;
    assert.equal(m.key, t.instrument.id, 'keyed by instrument id');
    return t;
  });
  for (const id of ['NSE_EQ:1333', 'IDX_I:13']) {
    const expected = lines.filter((l) => l.instrumentId === id);
    // Kafka keeps order within a partition, and one instrument lives in one partition: read order.
    const got = ticks.filter((t: Tick) => t.instrument.id === id);
    assert.deepEqual(
      got.map((t) => [t.exchangeTimeMs, t.lastPrice, t.lastQuantity]),
      expected.map((l) => [l.time, l.price, l.quantity]),
      `${id}: every line, in recorded order, with the recorded values and times`,
    );
    const seqs = got.map((t) => t.seq);
    assert.ok(
      seqs.every((s, i) => i === 0 || s > (seqs[i - 1] ?? 0)),
      `${id}: seq increases`,
    );
  }
  assert.equal(r.letters.length, 1, 'exactly the malformed line is in the DLQ');
  const letter = dlq.decode(r.letters[0]?.value ?? Buffer.alloc(0));
  assert.match(letter.reason, /^malformed: .*session\.(jsonl|csv):\d+: /, 'the reason names the file and line');
  assert.equal(letter.source, 'replay');
  assert.equal(letter.stage, 'ingestion');
  assert.equal(Buffer.from(letter.payload).toString('utf8'), r.malformed, 'the DLQ keeps the original line');
}

/** How long the sends of the whole recording took, by the Kafka timestamps of the first and last record. */
const sendSpan = (r: Awaited<ReturnType<typeof replay>>): number => {
  const ts = r.messages.map((m) => m.timestamp);
  return Math.max(...ts) - Math.min(...ts);
};
const RECORDED_SPAN = (GOOD - 1) * 200; // 7.8 s

describe('replay source against the real broker', { timeout: 180_000 }, () => {
  test('JSON Lines at speed 0: every good line in order per instrument, the malformed one in the DLQ, no pacing', async () => {
    const r = await replay('jsonl', 0);
    checkContent(r);
    // Loose: as fast as possible is nowhere near the recorded 7.8 s.
    assert.ok(sendSpan(r) < RECORDED_SPAN / 2, `speed 0 sent 7.8 s of recording in ${sendSpan(r)} ms`);
  });

  test('CSV at speed 4: the same content, sends paced at the recorded gaps divided by 4', async () => {
    const r = await replay('csv', 4);
    checkContent(r);
    // Recorded 7.8 s / 4 = 1.95 s. Pacing waits at least that (a lower bound is robust on a busy
    // machine; an upper bound on wall-clock time would not be), and clearly less than speed 1.
    const span = sendSpan(r);
    assert.ok(span >= (RECORDED_SPAN / 4) * 0.8, `paced: ${span} ms for 1.95 s expected`);
    assert.ok(span < RECORDED_SPAN * 0.9, `faster than recorded speed: ${span} ms`);
  });
});
