import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatCompact,
  formatDuration,
  frame,
  type ProcessRow,
  renderView,
  statusLine,
  stripColour,
  type ViewState,
} from '../../../services/up/view.ts';

const T0 = Date.UTC(2026, 4, 4, 4, 0, 0); // 09:30 IST

function proc(component: ProcessRow['component'], shard: number, over: Partial<ProcessRow> = {}): ProcessRow {
  return {
    name: `nifty-${component}-${shard}`,
    component,
    shard,
    phase: 'ready',
    pid: 1000 + shard,
    restarts: 0,
    stats: {},
    unit: component === 'ingestion' ? 'ticks/s' : 'rec/s',
    ...over,
  };
}

function state(over: Partial<ViewState> = {}): ViewState {
  return {
    feed: 'nifty',
    namespace: 'default',
    source: 'simulator',
    shards: 2,
    startedAtMs: T0,
    nowMs: T0 + 83_000,
    processes: [
      proc('storage', 1, { stats: { rate: 410.4, lag: 12, rows: 12_345, errors: 0 } }),
      proc('ingestion', 0, { stats: { rate: 400, total: 4000, errors: 0 } }),
      proc('processor', 0, { stats: { rate: 398.5, lag: 3, errors: 2 } }),
      proc('storage', 0, { stats: { rate: 12.25, lag: 0, rows: 1_000_000, rowsByTable: { ticks: 900_000, gex: 100_000 } } }),
    ],
    indices: [{ symbol: 'NIFTY', instrumentId: 'IDX_I:13', price: 24_512.35, previousClose: 24_400, timeMs: T0 + 82_000 }],
    chainSymbol: 'NIFTY',
    chain: {
      underlyingId: 'IDX_I:13',
      expiry: '2026-05-28',
      spot: 24_512.35,
      netGex: 4.2e9,
      zeroGamma: 24_310.5,
      contracts: 80,
      rows: [
        {
          strike: 24_450,
          atm: false,
          call: { iv: 0.141, delta: 0.62, gamma: 0.00041, openInterest: 120_000, gex: 2.5e8, price: 120 },
        },
        {
          strike: 24_500,
          atm: true,
          call: { iv: 0.14, delta: 0.52, gamma: 0.00045, openInterest: 150_000, gex: 3e8, price: 80 },
          put: { delta: -0.48, gamma: 0.00045, openInterest: 140_000, gex: -2.8e8, price: 70 },
        },
      ],
    },
    grpcEndpoint: '127.0.0.1:50051',
    logDir: '.local/logs',
    timeZone: 'Asia/Kolkata',
    ...over,
  };
}

const OPTS = { width: 140, height: 50, color: false };

describe('live view rendering', () => {
  test('the header names the feed, source, shards and uptime', () => {
    const [header, hint] = renderView(state(), OPTS);
    assert.equal(header, 'stockify up · nifty · simulator · 2 shards · up 00:01:23');
    assert.match(hint ?? '', /Ctrl-C stops every process · logs in \.local\/logs · MarketData gRPC 127\.0\.0\.1:50051/);
  });

  test('one row per process, ordered by shard then ingestion → processor → storage, with rate, lag, rows and errors', () => {
    const lines = renderView(state(), OPTS);
    const head = lines.findIndex((l) => l.startsWith('SHARD'));
    assert.match(lines[head] ?? '', /SHARD\s+COMPONENT\s+STATE\s+PID\s+RESTARTS\s+THROUGHPUT\s+LAG\s+ROWS\s+ERRORS/);
    const rows = lines.slice(head + 1, head + 5);
    assert.deepEqual(
      rows.map((r) => r.trim().split(/\s+/).slice(0, 2).join(' ')),
      ['0 ingestion', '0 processor', '0 storage', '1 storage'],
    );
    assert.match(rows[0] ?? '', /400 ticks\/s/);
    assert.match(rows[1] ?? '', /399 rec\/s\s+3\s+-\s+2$/);
    assert.match(rows[2] ?? '', /12\.3 rec\/s\s+0\s+1,000,000\s+-$/);
    assert.match(rows[3] ?? '', /410 rec\/s\s+12\s+12,345\s+0$/);
  });

  test('rows written are totalled per table', () => {
    assert.ok(renderView(state(), OPTS).includes('rows written: ticks 900,000 · gex 100,000'));
  });

  test('index levels show the change from the previous close, in exchange time', () => {
    const line = renderView(state(), OPTS).find((l) => l.startsWith('NIFTY '));
    assert.match(line ?? '', /NIFTY\s+24,512\.35\s+\+112\.35\s+\+0\.46%\s+09:31:22/);
  });

  test('the chain excerpt shows net GEX, zero gamma and both legs around the marked money strike', () => {
    const lines = renderView(state(), OPTS);
    assert.ok(lines.includes('NIFTY option chain · expiry 2026-05-28 · spot 24,512.35 · net GEX +4.20B · zero gamma 24,310.50'));
    const atm = lines.find((l) => l.includes('▶ 24,500.00'));
    assert.match(
      atm ?? '',
      /150,000\s+14\.0%\s+0\.52\s+0\.00045\s+\+300M\s+▶ 24,500\.00\s+-280M\s+0\.00045\s+-0\.48\s+—\s+140,000/,
    );
  });

  test('a process in back-off says when it restarts and how it ended', () => {
    const s = state({
      processes: [
        proc('processor', 0, {
          phase: 'backoff',
          restarts: 3,
          lastExit: 'exit 1',
          restartAtMs: T0 + 83_000 + 4_200,
          pid: undefined,
        }),
      ],
    });
    const row = renderView(s, OPTS).find((l) => l.includes('processor'));
    assert.match(row ?? '', /restart in 5s\s+-\s+3 \(exit 1\)/);
  });

  test('a market-data error replaces the chain; before the first snapshot the chain says it waits', () => {
    assert.ok(
      renderView(state({ marketError: 'UNAVAILABLE: no connection' }), OPTS).includes('market data: UNAVAILABLE: no connection'),
    );
    const waiting = renderView(state({ chain: undefined }), OPTS);
    assert.ok(waiting.includes('NIFTY option chain: waiting for the first snapshot…'));
  });

  test('lines never exceed the width and the view never exceeds the height', () => {
    const lines = renderView(state(), { width: 60, height: 12, color: true });
    assert.ok(lines.length <= 12);
    for (const l of lines) assert.ok(stripColour(l).length <= 60, l);
  });

  test('colour is only added when asked for', () => {
    assert.ok(!renderView(state(), OPTS).join('\n').includes('\x1b['));
    assert.ok(
      renderView(state(), { ...OPTS, color: true })
        .join('\n')
        .includes('\x1b[32mready\x1b[0m'),
    );
  });

  test('--duration shows the time left; stopping replaces the hint', () => {
    const [header, hint] = renderView(state({ stopAtMs: T0 + 100_000, stopping: true }), OPTS);
    assert.match(header ?? '', /stops in 00:00:17$/);
    assert.match(hint ?? '', /^stopping/);
  });
});

describe('terminal frame and status line', () => {
  test('a frame homes the cursor and clears each line end and the rest, never the whole screen', () => {
    const f = frame(['a', 'b']);
    assert.equal(f, '\x1b[Ha\x1b[K\nb\x1b[K\n\x1b[J');
    assert.ok(!f.includes('\x1b[2J'));
  });

  test('the status line sums each component across shards', () => {
    const line = statusLine(state());
    assert.equal(
      line,
      '[00:01:23] nifty: ingestion 1/1 ready 400 ticks/s | processor 1/1 ready 399 rec/s lag 3 errors 2 | storage 2/2 ready 423 rec/s lag 12 rows 1,012,345 | NIFTY 24,512.35 | net GEX +4.20B',
    );
  });

  test('numbers are formatted for people', () => {
    assert.equal(formatCompact(4.2e9), '4.20B');
    assert.equal(formatCompact(-280e6), '-280M');
    assert.equal(formatCompact(12_500), '12.5k');
    assert.equal(formatCompact(0.5), '0.50');
    assert.equal(formatDuration(3_723_000), '01:02:03');
  });
});
