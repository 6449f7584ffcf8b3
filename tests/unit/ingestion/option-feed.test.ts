import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createLogger } from '../../../services/core/log.ts';
import { unsubscribeMessages } from '../../../services/ingestion/dhan/feed-requests.ts';
import { istToday, OptionFeed, optionLanes } from '../../../services/ingestion/dhan/option-feed.ts';
import { decodePacket } from '../../../services/ingestion/dhan/packet.ts';
import { parseScripMaster } from '../../../services/ingestion/dhan/scrip-master.ts';
import { DhanState } from '../../../services/ingestion/dhan/state.ts';
import { createIngestionMetrics } from '../../../services/ingestion/metrics.ts';
import { encodeTicker } from '../../integration/ingestion/dhan-encoder.ts';

const HEADER =
  'SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,SEM_OPTION_TYPE,SEM_TICK_SIZE';
const lines = [HEADER, 'NSE,I,13,INDEX,NIFTY,1,,,,0.05'];
let id = 50_000;
for (let k = 25_000; k <= 27_000; k += 50) {
  for (const t of ['CE', 'PE'])
    lines.push(`NSE,D,${id++},OPTIDX,NIFTY-2026-12-08-${k}-${t},75,2026-12-08 14:30:00,${k},${t},0.05`);
}
const master = parseScripMaster(lines.join('\n'));
const nifty = {
  segment: 'IDX_I' as const,
  securityId: '13',
  symbol: 'NIFTY',
  optionSegment: 'NSE_FNO' as const,
  lotSize: 75,
  expiries: 1,
  strikes: 10,
};
const groups = [[{ segment: 'NSE_EQ' as const, securityId: '1333' }], [{ segment: 'IDX_I' as const, securityId: '13' }]];
const log = createLogger({ component: 'test', level: 'silent' });
const parse = (msgs: string[]) => msgs.map((m) => JSON.parse(m) as { RequestCode: number; InstrumentCount: number });

describe('live option feed', () => {
  test("an underlying's windows ride its own connection, in the room left there or the budget's planned share", () => {
    const lanes = optionLanes(groups, [nifty], master, '2026-11-30', 5_000);
    assert.deepEqual(
      lanes.map((l) => [l.connection, l.capacity, l.ladders.length]),
      [[1, 4_999, 1]],
    );
    assert.equal(optionLanes(groups, [nifty], master, '2026-11-30', 5_000, [0, 12])[0]?.capacity, 12);
    assert.deepEqual(optionLanes(groups, [nifty], master, '2026-12-09', 5_000), [], 'expired contracts are not streamed');
  });

  test('the window is subscribed when the connection opens, moved by unsubscribe then subscribe, and re-sent on reconnect', async () => {
    const metrics = createIngestionMetrics(new Registry());
    const feed = new OptionFeed(optionLanes(groups, [nifty], master, '2026-11-30', 5_000), 'quote', log, metrics);
    const sent: string[] = [];
    feed.attach(1, (m) => sent.push(m));
    assert.equal(sent.length, 0, 'no spot yet: nothing to subscribe');
    feed.spot('IDX_I:13', 26_010);
    assert.deepEqual(
      parse(sent).map((m) => [m.RequestCode, m.InstrumentCount]),
      [[17, 20]],
      '10 strikes × CE/PE, quote mode (17)',
    );
    sent.length = 0;
    feed.spot('NSE_FNO:50000', 26_500);
    assert.equal(sent.length, 0, 'an option trade moves no window');
    feed.spot('IDX_I:13', 26_410);
    assert.deepEqual(
      parse(sent).map((m) => [m.RequestCode, m.InstrumentCount]),
      [
        [18, 16],
        [17, 16],
      ],
      'eight strikes up: 16 contracts out (quote unsubscribe 18), 16 in',
    );
    feed.detach(1);
    sent.length = 0;
    feed.spot('IDX_I:13', 25_500);
    assert.equal(sent.length, 0, 'nothing is sent while the connection is down');
    feed.attach(1, (m) => sent.push(m));
    assert.deepEqual(
      parse(sent).map((m) => [m.RequestCode, m.InstrumentCount]),
      [[17, 20]],
      'the reopened connection subscribes the current window',
    );
    assert.equal(feed.subscribed, 20);
    assert.equal((await metrics.optionContracts.get()).values[0]?.value, 20);
    assert.equal((await metrics.optionRecentres.get()).values[0]?.value, 3, 'placed, moved up, moved down');
    const d = feed.describe('NSE_FNO:50000');
    assert.deepEqual(d, {
      symbol: 'NIFTY 2026-12-08 25000 CE',
      key: 'IDX_I:13',
      meta: { underlying: 'IDX_I:13', expiry: '2026-12-08', strike: 25_000, optionType: 'CALL', lotSize: 75, tickSize: 0.05 },
    });
    assert.equal(feed.describe('NSE_EQ:1333'), undefined);
  });

  test("an option contract's packet becomes a tick carrying the contract and keyed by its underlying", () => {
    const feed = new OptionFeed(optionLanes(groups, [nifty], master, '2026-11-30', 5_000), 'full', log);
    const state = new DhanState(new Map([['IDX_I:13', 'NIFTY']]), (id) => feed.describe(id));
    const ltt = Math.floor(Date.parse('2026-11-30T05:00:00Z') / 1000) + 19_800;
    const bytes = encodeTicker({ segment: 'NSE_FNO', securityId: 50_001 }, 180.35, ltt);
    const out = state.apply(decodePacket(bytes), Date.now(), bytes);
    assert.equal(out?.key, 'IDX_I:13');
    assert.ok(out?.record.payload === 'tick');
    assert.equal(out.record.tick.instrument.symbol, 'NIFTY 2026-12-08 25000 PE');
    assert.deepEqual(out.record.tick.meta, {
      underlying: 'IDX_I:13',
      expiry: '2026-12-08',
      strike: 25_000,
      optionType: 'PUT',
      lotSize: 75,
      tickSize: 0.05,
    });
    const spotBytes = encodeTicker({ segment: 'IDX_I', securityId: 13 }, 26_000, ltt);
    const spot = state.apply(decodePacket(spotBytes), Date.now(), spotBytes);
    assert.equal(spot?.key, 'IDX_I:13');
    assert.ok(spot?.record.payload === 'tick' && spot.record.tick.meta === null, 'the underlying itself carries no meta');
  });

  test('unsubscribe requests use 16/18/22 and hold at most 100 instruments', () => {
    const list = Array.from({ length: 250 }, (_, i) => ({ segment: 'NSE_FNO' as const, securityId: String(i) }));
    assert.deepEqual(
      parse(unsubscribeMessages('full', list)).map((m) => [m.RequestCode, m.InstrumentCount]),
      [
        [22, 100],
        [22, 100],
        [22, 50],
      ],
    );
    assert.equal(parse(unsubscribeMessages('ticker', list.slice(0, 1)))[0]?.RequestCode, 16);
  });

  test('the expiry day is the IST date', () => {
    assert.equal(istToday(Date.parse('2026-11-30T19:00:00Z')), '2026-12-01');
    assert.equal(istToday(Date.parse('2026-11-30T18:00:00Z')), '2026-11-30');
  });
});
