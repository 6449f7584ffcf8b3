import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { csvHeader, parseLine } from '../../../services/ingestion/replay/parse.ts';
import { ReplaySource } from '../../../services/ingestion/replay/source.ts';
import type { Sink, SourceItem } from '../../../services/ingestion/source.ts';

describe('replay line parsing', () => {
  test('a JSON line with an ISO time and instrumentId becomes a tick', () => {
    const r = parseLine(
      '{"time":"2026-11-26T09:15:00.250+05:30","instrumentId":"NSE_EQ:1333","symbol":"HDFCBANK","price":1650.5,"quantity":10,"volume":1200}',
      'jsonl',
    );
    assert.equal(r.kind, 'record');
    if (r.kind !== 'record' || r.record.payload !== 'tick') return;
    assert.equal(r.key, 'NSE_EQ:1333');
    assert.equal(r.timeMs, Date.parse('2026-11-26T03:45:00.250Z'));
    assert.equal(r.record.tick.lastPrice, 1650.5);
    assert.equal(r.record.tick.volume, 1200);
    assert.equal(r.record.tick.instrument.symbol, 'HDFCBANK');
  });

  test('segment + securityId and epoch ms work too', () => {
    const r = parseLine('{"time":1795672800250,"segment":"IDX_I","securityId":"13","price":26150.35}', 'jsonl');
    assert.equal(r.kind === 'record' && r.key, 'IDX_I:13');
  });

  test('a CSV line follows its header, with one depth level', () => {
    const header = csvHeader('time,instrumentId,symbol,price,quantity,volume,oi,bid,bidQty,ask,askQty');
    const r = parseLine('1795672800250,NSE_EQ:1333,HDFCBANK,1650.5,10,1200,0,1650.45,300,1650.55,120', 'csv', header);
    assert.equal(r.kind, 'record');
    if (r.kind !== 'record' || r.record.payload !== 'tick') return;
    assert.deepEqual(r.record.tick.depth, [
      { bidPrice: 1650.45, bidQuantity: 300, bidOrders: 0, askPrice: 1650.55, askQuantity: 120, askOrders: 0 },
    ]);
  });

  test('malformed lines are errors that name the problem', () => {
    assert.match((parseLine('{"time":', 'jsonl') as { detail: string }).detail, /not JSON/);
    assert.match(
      (parseLine('{"time":"2026-11-26T09:15:00","instrumentId":"NSE_EQ:1","price":1}', 'jsonl') as { detail: string }).detail,
      /zone/,
    );
    assert.match(
      (parseLine('{"time":1,"instrumentId":"NSE_EQ:1","price":"abc"}', 'jsonl') as { detail: string }).detail,
      /price/,
    );
    assert.match((parseLine('{"time":1,"instrumentId":"XX:1","price":1}', 'jsonl') as { detail: string }).detail, /SEGMENT/);
    assert.match((parseLine('1,2', 'csv', ['time', 'instrumentId', 'price']) as { detail: string }).detail, /2 cells/);
  });

  test('blank and comment lines are skipped', () => {
    assert.equal(parseLine('   ', 'jsonl').kind, 'skip');
    assert.equal(parseLine('# recorded 2026-11-26', 'csv', ['time']).kind, 'skip');
  });
});

describe('replay source', () => {
  test('at recorded speed, a stop during an hour-long gap ends the replay at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-'));
    const path = join(dir, 'gap.jsonl');
    writeFileSync(
      path,
      [
        '{"time":"2026-11-26T09:15:00+05:30","instrumentId":"NSE_EQ:1333","price":1650.5}',
        '{"time":"2026-11-26T10:15:00+05:30","instrumentId":"NSE_EQ:1333","price":1651}',
      ].join('\n'),
    );
    const emitted: SourceItem[] = [];
    let first: () => void = () => undefined;
    const firstEmitted = new Promise<void>((resolve) => (first = resolve));
    const sink: Sink = {
      emit: (item) => {
        emitted.push(item);
        first();
      },
      hasRoom: () => true,
      waitForRoom: () => Promise.resolve(),
    };
    const source = new ReplaySource({ path, speed: 1 });
    const stop = new AbortController();
    const running = source.run(sink, stop.signal);
    try {
      await firstEmitted;
      await delay(100); // by now it waits for the second line, an hour later
      const stoppedAt = performance.now();
      stop.abort();
      await running;
      const tookMs = performance.now() - stoppedAt;
      assert.ok(tookMs < 1_000, `the replay took ${Math.round(tookMs)} ms to stop`);
      assert.equal(emitted.length, 1, 'the line after the gap is not sent');
      assert.equal(source.state(), 'STOPPED');
    } finally {
      stop.abort();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
