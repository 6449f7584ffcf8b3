import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { LiveMessage } from '../../../services/gateway/live.ts';
import { tick } from '../storage/fixtures.ts';

const snapshot = codec<Snapshot>('Snapshot');
const ID = 'NSE_EQ:2885';
const bytes = snapshot.encode({ instrumentId: ID, timeMs: 1_764_480_000_123, payload: 'tick', tick: tick(ID, 7) } as Snapshot);

describe('a live message is encoded once for every connection (LiveMessage)', () => {
  test('JSON: the quote envelope around the decoded Snapshot, as UTF-8 bytes of the text', () => {
    const msg = new LiveMessage(ID, bytes, 5);
    const json = msg.encode('json');
    const parsed = JSON.parse(json.payload.toString()) as { type: string; instrument: string; snapshot: Snapshot };
    assert.equal(parsed.type, 'quote');
    assert.equal(parsed.instrument, ID);
    assert.equal(parsed.snapshot.instrumentId, ID);
    assert.equal(parsed.snapshot.payload === 'tick' && parsed.snapshot.tick.seq, 7);
    assert.equal(json.payload.toString(), msg.json());
    assert.equal(json.size, json.payload.length);
  });

  test('SSE: one `quote` event whose data line is the JSON text', () => {
    const msg = new LiveMessage(ID, bytes, 5);
    const sse = msg.encode('sse').payload.toString();
    assert.equal(sse, `event: quote\ndata: ${msg.json()}\n\n`);
    assert.equal(msg.encode('sse').size, Buffer.byteLength(sse));
  });

  test('protobuf: the Snapshot bytes as published, not re-encoded', () => {
    const msg = new LiveMessage(ID, bytes, 5);
    assert.equal(msg.encode('protobuf').payload, bytes);
    assert.equal(msg.encode('protobuf').size, bytes.length);
  });

  test('each encoding is built once and the same bytes are handed to every connection', () => {
    const msg = new LiveMessage(ID, bytes, 5);
    for (const e of ['json', 'sse', 'protobuf'] as const) assert.equal(msg.encode(e), msg.encode(e));
    assert.equal(msg.encode('json').payload, msg.encode('json').payload);
  });

  test('non-ASCII text is counted in bytes, not characters', () => {
    const t = tick(ID, 1);
    const b = snapshot.encode({
      instrumentId: ID,
      timeMs: 1,
      payload: 'tick',
      tick: { ...t, instrument: { ...t.instrument, symbol: 'निफ्टी' } },
    } as Snapshot);
    const json = new LiveMessage(ID, b, 5).encode('json');
    assert.ok(json.size > json.payload.toString().length);
    assert.equal(json.size, Buffer.byteLength(json.payload.toString()));
  });

  test('the receive time is read once, when the message is made', () => {
    assert.equal(new LiveMessage(ID, bytes, 1234).atMs, 1234);
    const before = Date.now();
    const at = new LiveMessage(ID, bytes).atMs;
    assert.ok(at >= before && at <= Date.now());
  });
});
