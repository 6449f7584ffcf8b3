import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OptionChain, OptionQuote, Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';
import { ChainCache, type ChainSource, ChainState, type LiveSource } from '../../../services/storage/chain-cache.ts';
import { lengthDelimited } from '../../../services/storage/market-data.ts';
import { NotFoundError } from '../../../services/storage/queries.ts';
import { ArgumentError, parseRecentTicksRequest } from '../../../services/storage/requests.ts';
import { gex, quote, T0, tick } from './fixtures.ts';

const U = 'IDX_I:13';
const EXPIRY = '2026-11-26';
const snapshot = codec<Snapshot>('Snapshot');
const chainCodec = codec<OptionChain>('OptionChain');
const q = (id: string, strike: number, type: 'CALL' | 'PUT', seq: number, price = 100): OptionQuote => ({
  ...quote(id, strike, type, seq, { underlying: U, expiry: EXPIRY }),
  price,
});

describe('ChainState: the merge rules of a cached chain', () => {
  test('quotes merge newest-wins by exchange time then sequence; stale and foreign quotes are ignored', () => {
    const s = new ChainState(U, EXPIRY);
    s.mergeChain({ underlyingId: U, expiry: EXPIRY, spot: 0, quotes: [q('NSE_FNO:1', 25_000, 'CALL', 5, 10)], gex: null });
    assert.equal(s.mergeQuote(q('NSE_FNO:1', 25_000, 'CALL', 4, 99)), false, 'older');
    assert.equal(s.mergeQuote(q('NSE_FNO:1', 25_000, 'CALL', 5, 99)), false, 'same time and seq');
    assert.equal(s.mergeQuote({ ...q('NSE_FNO:1', 25_000, 'CALL', 5, 99), seq: 6 }), true, 'same time, later seq');
    const other = {
      ...q('NSE_FNO:9', 25_000, 'CALL', 9),
      meta: { ...q('NSE_FNO:9', 25_000, 'CALL', 9).meta, expiry: '2026-12-03' },
    };
    assert.equal(s.mergeQuote(other), false, 'another expiry');
    assert.deepEqual(
      s.chain().quotes.map((x) => [x.instrument.id, x.price]),
      [['NSE_FNO:1', 99]],
    );
  });

  test('a PostgreSQL re-read never rolls back a newer live quote, and adds new contracts', () => {
    const s = new ChainState(U, EXPIRY);
    s.mergeQuote(q('NSE_FNO:1', 25_000, 'CALL', 9, 50));
    s.mergeChain({
      underlyingId: U,
      expiry: EXPIRY,
      spot: 0,
      quotes: [q('NSE_FNO:1', 25_000, 'CALL', 3, 1), q('NSE_FNO:2', 24_900, 'PUT', 3, 2)],
      gex: null,
    });
    assert.deepEqual(
      s.chain().quotes.map((x) => [x.instrument.id, x.price]),
      [
        ['NSE_FNO:2', 2],
        ['NSE_FNO:1', 50],
      ],
    );
  });

  test('ordered by strike then CALL before PUT; spot from the GEX row unless a quote is newer', () => {
    const s = new ChainState(U, EXPIRY);
    const g = gex(U, T0 + 1_000, EXPIRY);
    s.mergeChain({
      underlyingId: U,
      expiry: EXPIRY,
      spot: 0,
      quotes: [q('NSE_FNO:4', 25_100, 'PUT', 1), q('NSE_FNO:3', 25_100, 'CALL', 1), q('NSE_FNO:2', 25_000, 'PUT', 1)],
      gex: g,
    });
    assert.deepEqual(
      s.chain().quotes.map((x) => `${x.meta.strike} ${x.meta.optionType}`),
      ['25000 PUT', '25100 CALL', '25100 PUT'],
    );
    assert.equal(s.chain().spot, g.spot);
    s.mergeQuote({ ...q('NSE_FNO:3', 25_100, 'CALL', 2), exchangeTimeMs: T0 + 5_000, underlyingPrice: 25_321 });
    assert.equal(s.chain().spot, 25_321);
  });

  test('the encoded answer is reused until the chain changes', () => {
    const s = new ChainState(U, EXPIRY);
    let encodes = 0;
    const enc = (c: OptionChain): Buffer => {
      encodes += 1;
      return chainCodec.encode(c);
    };
    s.mergeQuote(q('NSE_FNO:1', 25_000, 'CALL', 1));
    const a = s.bytes(enc);
    assert.equal(s.bytes(enc), a);
    s.mergeQuote(q('NSE_FNO:1', 25_000, 'CALL', 2, 7));
    assert.equal(chainCodec.decode(s.bytes(enc)).quotes[0]?.price, 7);
    assert.equal(encodes, 2);
  });
});

/** An in-memory chain source and live bus, counting what the cache asks of them. */
function fixtures(chains: Record<string, OptionChain>) {
  const calls = { loads: 0, resolves: 0, subscribed: [] as string[][], unsubscribed: 0 };
  const listeners = new Map<string, (b: Buffer) => void>();
  let fail = false;
  const source: ChainSource = {
    resolveChain: async (_c, req) => {
      calls.resolves += 1;
      return { underlyingId: 'id' in req.underlying ? req.underlying.id : U, expiry: req.expiry || EXPIRY };
    },
    optionChain: async (_c, req) => {
      calls.loads += 1;
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error('PostgreSQL down');
      const id = 'id' in req.underlying ? req.underlying.id : '';
      const c = chains[`${id}|${req.expiry}`];
      if (!c) throw new NotFoundError(`no chain of ${id}`);
      return structuredClone(c);
    },
  };
  const live: LiveSource = {
    subscribe: async (ids, l) => {
      calls.subscribed.push([...ids]);
      for (const id of ids) listeners.set(id, l);
      return () => {
        calls.unsubscribed += 1;
        for (const id of ids) listeners.delete(id);
      };
    },
    latest: async () => new Map(),
  };
  const publish = (oq: OptionQuote): void =>
    listeners.get(oq.instrument.id)?.(
      snapshot.encode({ instrumentId: oq.instrument.id, timeMs: oq.exchangeTimeMs, payload: 'optionQuote', optionQuote: oq }),
    );
  return { source, live, calls, publish, setFail: (v: boolean) => (fail = v), listeners };
}

const chainOf = (u: string, ids: string[]): OptionChain => ({
  underlyingId: u,
  expiry: EXPIRY,
  spot: 0,
  quotes: ids.map((id, i) => ({
    ...q(id, 25_000 + i * 100, 'CALL', 1),
    meta: { ...q(id, 0, 'CALL', 1).meta, underlying: u, strike: 25_000 + i * 100 },
  })),
  gex: null,
});

function cache(f: ReturnType<typeof fixtures>, over: Partial<ConstructorParameters<typeof ChainCache>[0]> = {}) {
  let now = 1_000_000;
  const c = new ChainCache({
    source: f.source,
    live: f.live,
    decode: (b) => snapshot.decode(b),
    encode: (ch) => chainCodec.encode(ch),
    now: () => now,
    ...over,
  });
  return { c, tick: (ms: number) => (now += ms) };
}

describe('ChainCache', () => {
  test('32 concurrent callers of a cold chain cause one PostgreSQL read and one subscription', async () => {
    const f = fixtures({ [`${U}|${EXPIRY}`]: chainOf(U, ['NSE_FNO:1', 'NSE_FNO:2']) });
    const { c } = cache(f);
    const req = { underlying: { id: U }, expiry: EXPIRY };
    const answers = await Promise.all(Array.from({ length: 32 }, () => c.get(req)));
    assert.equal(f.calls.loads, 1);
    assert.deepEqual(f.calls.subscribed, [['NSE_FNO:1', 'NSE_FNO:2']]);
    assert.equal(chainCodec.decode(answers[31] as Buffer).quotes.length, 2);
    c.close();
  });

  test('live updates change the answer without reading PostgreSQL again', async () => {
    const f = fixtures({ [`${U}|${EXPIRY}`]: chainOf(U, ['NSE_FNO:1']) });
    const { c } = cache(f);
    const req = { underlying: { id: U }, expiry: EXPIRY };
    await c.get(req);
    f.publish({ ...q('NSE_FNO:1', 25_000, 'CALL', 2, 432.1) });
    assert.equal(chainCodec.decode(await c.get(req)).quotes[0]?.price, 432.1);
    assert.equal(f.calls.loads, 1);
    c.close();
  });

  test('an entry in use re-reads PostgreSQL once refreshMs has passed (GEX, new strikes), in the background', async () => {
    const chains = { [`${U}|${EXPIRY}`]: chainOf(U, ['NSE_FNO:1']) };
    const f = fixtures(chains);
    const { c, tick: advance } = cache(f, { refreshMs: 2_000 });
    const req = { underlying: { id: U }, expiry: EXPIRY };
    await c.get(req);
    chains[`${U}|${EXPIRY}`] = chainOf(U, ['NSE_FNO:1', 'NSE_FNO:5']);
    advance(1_000);
    await c.get(req);
    assert.equal(f.calls.loads, 1, 'not yet');
    advance(1_500);
    await c.get(req);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(f.calls.loads, 2);
    assert.equal(chainCodec.decode(await c.get(req)).quotes.length, 2);
    assert.deepEqual(f.calls.subscribed.at(-1), ['NSE_FNO:5'], 'only the new contract is subscribed');
    c.close();
  });

  test('bounded: the least recently used chain is evicted and unsubscribed; idle chains are dropped', async () => {
    const chains: Record<string, OptionChain> = {};
    for (const u of ['IDX_I:1', 'IDX_I:2', 'IDX_I:3']) chains[`${u}|${EXPIRY}`] = chainOf(u, [`NSE_FNO:${u.slice(6)}0`]);
    const f = fixtures(chains);
    const { c } = cache(f, { maxEntries: 2 });
    await c.get({ underlying: { id: 'IDX_I:1' }, expiry: EXPIRY });
    await c.get({ underlying: { id: 'IDX_I:2' }, expiry: EXPIRY });
    await c.get({ underlying: { id: 'IDX_I:1' }, expiry: EXPIRY }); // 1 is now the most recent
    await c.get({ underlying: { id: 'IDX_I:3' }, expiry: EXPIRY });
    assert.equal(c.size, 2);
    assert.equal(f.calls.unsubscribed, 1);
    assert.ok(!f.listeners.has('NSE_FNO:20'), 'IDX_I:2 was evicted');
    assert.ok(f.listeners.has('NSE_FNO:10'));
    c.close();
    assert.equal(f.listeners.size, 0);
  });

  test('a failed first read is not cached, NotFound propagates, and symbols resolve once per TTL', async () => {
    const f = fixtures({ [`${U}|${EXPIRY}`]: chainOf(U, ['NSE_FNO:1']) });
    const { c } = cache(f);
    f.setFail(true);
    await assert.rejects(c.get({ underlying: { symbol: 'NIFTY' }, expiry: '' }), /PostgreSQL down/);
    assert.equal(c.size, 0);
    f.setFail(false);
    await c.get({ underlying: { symbol: 'NIFTY' }, expiry: '' });
    await c.get({ underlying: { symbol: 'NIFTY' }, expiry: '' });
    assert.equal(f.calls.resolves, 1);
    await assert.rejects(c.get({ underlying: { id: 'IDX_I:404' }, expiry: EXPIRY }), NotFoundError);
    c.close();
  });
});

describe('GetLatest response from stored bytes', () => {
  test('concatenated length-delimited Snapshots decode as GetLatestResponse', () => {
    const a = snapshot.encode({ instrumentId: U, timeMs: T0, payload: 'tick', tick: tick(U, 1) });
    const big = snapshot.encode({
      instrumentId: U,
      timeMs: T0,
      payload: 'tick',
      tick: { ...tick(U, 2), source: 'x'.repeat(300) },
    });
    const res = codec<{ snapshots: Snapshot[] }>('GetLatestResponse').decode(
      Buffer.concat([lengthDelimited(1, a), lengthDelimited(1, big)]),
    );
    assert.deepEqual(
      res.snapshots.map((s) => (s.payload === 'tick' ? s.tick.seq : -1)),
      [1, 2],
    );
  });
});

describe('GetRecentTicks request', () => {
  test('limit 0 means 100; at most 1000; the instrument must be an id', () => {
    assert.deepEqual(parseRecentTicksRequest({ instrument: U }), { instrument: U, limit: 100 });
    assert.deepEqual(parseRecentTicksRequest({ instrument: U, limit: 1_000 }), { instrument: U, limit: 1_000 });
    assert.throws(() => parseRecentTicksRequest({ instrument: U, limit: 1_001 }), ArgumentError);
    assert.throws(() => parseRecentTicksRequest({ instrument: 'nifty', limit: 1 }), /instrument/);
  });
});
