// The live view of `stockify up`: state in, text out. Pure — the terminal adapter (screen.ts) only
// writes what these functions return.

import { COMPONENTS, type Component } from '../core/names.ts';
import type { ChainExcerpt, LegFigures } from './excerpt.ts';
import { type ComponentStats, totalRowsByTable } from './stats.ts';

export type ProcessPhase = 'starting' | 'ready' | 'not ready' | 'backoff' | 'stopping' | 'stopped';

export interface ProcessRow {
  name: string;
  component: Component;
  shard: number;
  phase: ProcessPhase;
  pid?: number;
  restarts: number;
  /** How the last run ended ("exit 1", "SIGKILL"), when it ended unexpectedly. */
  lastExit?: string;
  /** When the back-off ends and the process starts again. */
  restartAtMs?: number;
  stats: ComponentStats;
  /** Unit of stats.rate ("ticks/s"). */
  unit: string;
}

export interface IndexLevel {
  symbol: string;
  instrumentId: string;
  price?: number;
  /** Previous close, for the change. */
  previousClose?: number;
  timeMs?: number;
}

export interface ViewState {
  feed: string;
  namespace: string;
  source: string;
  shards: number;
  startedAtMs: number;
  nowMs: number;
  /** When --duration ends the run. */
  stopAtMs?: number;
  stopping?: boolean;
  processes: ProcessRow[];
  indices: IndexLevel[];
  chainSymbol?: string;
  chain?: ChainExcerpt;
  /** Why the latest levels or the chain could not be read (shown instead of them). */
  marketError?: string;
  grpcEndpoint: string;
  /** The local gateway (spec.gateway), when the feed has one. */
  gatewayUrl?: string;
  logDir: string;
  /** Time zone of the times shown (the exchange's). */
  timeZone: string;
}

export interface RenderOptions {
  width: number;
  /** Lines available; the chain excerpt is cut to fit. */
  height: number;
  color: boolean;
}

const ESC = '\x1b[';
type Style = 'bold' | 'dim' | 'green' | 'yellow' | 'red' | 'cyan';
const CODES: Record<Style, string> = { bold: '1', dim: '2', green: '32', yellow: '33', red: '31', cyan: '36' };

const groupFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const priceFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export const formatInt = (n: number): string => groupFormat.format(Math.round(n));
export const formatPrice = (n: number): string => priceFormat.format(n);

/** 1234 → "1.2k", -3.4e9 → "-3.40B": gamma exposure spans many orders of magnitude. */
export function formatCompact(n: number): string {
  const abs = Math.abs(n);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) return `${(n / size).toFixed(abs / size >= 100 ? 0 : abs / size >= 10 ? 1 : 2)}${suffix}`;
  }
  return abs >= 10 || n === 0 ? n.toFixed(0) : n.toFixed(2);
}

const signed = (text: string, n: number): string => (n > 0 ? `+${text}` : text);

export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(h)}:${two(m)}:${two(s)}`;
}

function formatTime(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
}

function formatRate(rate: number | undefined): string {
  if (rate === undefined) return '…';
  return rate >= 100 ? formatInt(rate) : rate.toFixed(1);
}

const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const SGR_AT_START = new RegExp(`^${String.fromCharCode(27)}\\[[0-9;]*m`);

/** The text without colour codes. */
export const stripColour = (s: string): string => s.replace(SGR, '');
/** Visible width: colour codes take no columns. */
const visibleLength = (s: string): number => stripColour(s).length;

function cut(line: string, width: number): string {
  if (visibleLength(line) <= width) return line;
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length && seen < width; ) {
    const m = SGR_AT_START.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    out += line[i];
    seen += 1;
    i += 1;
  }
  return line.includes(ESC) ? `${out}${ESC}0m` : out;
}

function padCell(text: string, width: number, align: 'left' | 'right'): string {
  const gap = Math.max(0, width - visibleLength(text));
  return align === 'left' ? text + ' '.repeat(gap) : ' '.repeat(gap) + text;
}

interface Cell {
  text: string;
  style?: Style;
}

/** Lays out rows of cells in columns as wide as their widest cell. */
function table(header: string[], rows: Cell[][], align: ('left' | 'right')[], paint: (c: Cell) => string): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.text.length ?? 0)));
  const line = (cells: Cell[], styled: boolean): string =>
    cells
      .map((c, i) => padCell(styled ? paint(c) : c.text, widths[i] ?? 0, align[i] ?? 'left'))
      .join('  ')
      .trimEnd();
  return [
    paint({
      text: line(
        header.map((h) => ({ text: h })),
        false,
      ),
      style: 'bold',
    }),
    ...rows.map((r) => line(r, true)),
  ];
}

const PHASE_STYLE: Record<ProcessPhase, Style> = {
  starting: 'yellow',
  ready: 'green',
  'not ready': 'yellow',
  backoff: 'red',
  stopping: 'yellow',
  stopped: 'dim',
};

function phaseText(p: ProcessRow, nowMs: number): string {
  if (p.phase === 'backoff') {
    const wait = p.restartAtMs === undefined ? '' : ` ${Math.max(0, Math.ceil((p.restartAtMs - nowMs) / 1000))}s`;
    return `restart in${wait}`;
  }
  return p.phase;
}

function legCells(leg: LegFigures | undefined, side: 'call' | 'put'): Cell[] {
  if (!leg) return Array.from({ length: 5 }, () => ({ text: '' }));
  const cells: Cell[] = [
    { text: formatInt(leg.openInterest) },
    { text: leg.iv === undefined ? '—' : `${(leg.iv * 100).toFixed(1)}%` },
    { text: leg.delta.toFixed(2) },
    { text: leg.gamma.toFixed(5) },
    { text: signed(formatCompact(leg.gex), leg.gex), style: leg.gex < 0 ? 'red' : 'green' },
  ];
  return side === 'call' ? cells : cells.reverse();
}

type Paint = (c: Cell) => string;

/** The title and the hint under it. */
function renderHeader(state: ViewState, paint: Paint): string[] {
  const uptime = formatDuration(state.nowMs - state.startedAtMs);
  const left = state.stopAtMs === undefined ? '' : ` · stops in ${formatDuration(state.stopAtMs - state.nowMs)}`;
  const ns = state.namespace === 'default' ? '' : ` (${state.namespace})`;
  return [
    paint({
      text: `stockify up · ${state.feed}${ns} · ${state.source} · ${state.shards} shard${state.shards === 1 ? '' : 's'} · up ${uptime}${left}`,
      style: 'bold',
    }),
    state.stopping
      ? paint({ text: 'stopping: waiting for every process to finish its work…', style: 'yellow' })
      : paint({
          text: `Ctrl-C stops every process · logs in ${state.logDir} · MarketData gRPC ${state.grpcEndpoint}${state.gatewayUrl ? ` · gateway ${state.gatewayUrl}` : ''}`,
          style: 'dim',
        }),
    '',
  ];
}

/** One line per process, in shard then pipeline order, and the rows written per table. */
function renderProcesses(state: ViewState, paint: Paint): string[] {
  const procs = [...state.processes].sort(
    (a, b) => a.shard - b.shard || COMPONENTS.indexOf(a.component) - COMPONENTS.indexOf(b.component),
  );
  const rows: Cell[][] = procs.map((p) => [
    { text: String(p.shard) },
    { text: p.component },
    { text: phaseText(p, state.nowMs), style: PHASE_STYLE[p.phase] },
    { text: p.pid === undefined ? '-' : String(p.pid) },
    {
      text: p.restarts === 0 ? '0' : `${p.restarts}${p.lastExit ? ` (${p.lastExit})` : ''}`,
      ...(p.restarts > 0 ? { style: 'red' as const } : {}),
    },
    { text: p.stats.rate === undefined && p.stats.total === undefined ? '…' : `${formatRate(p.stats.rate)} ${p.unit}` },
    {
      text: p.stats.lag === undefined ? '-' : formatInt(p.stats.lag),
      ...((p.stats.lag ?? 0) > 1000 ? { style: 'yellow' as const } : {}),
    },
    { text: p.stats.rows === undefined ? '-' : formatInt(p.stats.rows) },
    {
      text: p.stats.errors === undefined ? '-' : formatInt(p.stats.errors),
      ...((p.stats.errors ?? 0) > 0 ? { style: 'red' as const } : {}),
    },
  ]);
  const out = table(
    ['SHARD', 'COMPONENT', 'STATE', 'PID', 'RESTARTS', 'THROUGHPUT', 'LAG', 'ROWS', 'ERRORS'],
    rows,
    ['right', 'left', 'left', 'right', 'left', 'right', 'right', 'right', 'right'],
    paint,
  );
  const tables = totalRowsByTable(state.processes.map((p) => p.stats));
  if (Object.keys(tables).length > 0) {
    out.push(
      paint({
        text: `rows written: ${Object.entries(tables)
          .map(([t, n]) => `${t} ${formatInt(n)}`)
          .join(' · ')}`,
        style: 'dim',
      }),
    );
  }
  out.push('');
  return out;
}

/** The watched index levels with their change since the previous close. */
function renderLevels(state: ViewState, paint: Paint): string[] {
  if (state.indices.length === 0) return [];
  const levelRows: Cell[][] = state.indices.map((ix) => {
    const change = ix.price !== undefined && ix.previousClose ? ix.price - ix.previousClose : undefined;
    const style: Style | undefined = change === undefined ? undefined : change < 0 ? 'red' : 'green';
    return [
      { text: ix.symbol },
      { text: ix.price === undefined ? 'waiting…' : formatPrice(ix.price) },
      { text: change === undefined ? '' : signed(formatPrice(change), change), ...(style ? { style } : {}) },
      {
        text:
          change === undefined || !ix.previousClose ? '' : `${signed(((change / ix.previousClose) * 100).toFixed(2), change)}%`,
        ...(style ? { style } : {}),
      },
      { text: ix.timeMs === undefined ? '' : formatTime(ix.timeMs, state.timeZone) },
    ];
  });
  return [
    ...table(['INSTRUMENT', 'LAST', 'CHANGE', '%', 'TIME'], levelRows, ['left', 'right', 'right', 'right', 'left'], paint),
    '',
  ];
}

/** The full-screen view, one string per line, each at most `width` columns. */
export function renderView(state: ViewState, opts: RenderOptions): string[] {
  const paint: Paint = (c) => (opts.color && c.style ? `${ESC}${CODES[c.style]}m${c.text}${ESC}0m` : c.text);
  const out = [...renderHeader(state, paint), ...renderProcesses(state, paint), ...renderLevels(state, paint)];
  if (state.marketError) {
    out.push(paint({ text: `market data: ${state.marketError}`, style: 'yellow' }));
  } else if (state.chain) {
    out.push(...renderChain(state.chain, state.chainSymbol ?? state.chain.underlyingId, paint, opts.height - out.length));
  } else if (state.chainSymbol) {
    out.push(paint({ text: `${state.chainSymbol} option chain: waiting for the first snapshot…`, style: 'dim' }));
  }
  return out.slice(0, Math.max(1, opts.height)).map((l) => cut(l, opts.width));
}

function renderChain(chain: ChainExcerpt, symbol: string, paint: (c: Cell) => string, room: number): string[] {
  const parts = [`${symbol} option chain · expiry ${chain.expiry || '?'} · spot ${formatPrice(chain.spot)}`];
  if (chain.netGex !== undefined) parts.push(`net GEX ${signed(formatCompact(chain.netGex), chain.netGex)}`);
  parts.push(chain.zeroGamma === undefined ? 'zero gamma n/a' : `zero gamma ${formatPrice(chain.zeroGamma)}`);
  const out = [paint({ text: parts.join(' · '), style: 'cyan' })];
  // Keep the rows nearest the money when the screen is short.
  const fit = Math.max(1, room - 2);
  let rows = chain.rows;
  if (rows.length > fit) {
    const atm = Math.max(
      0,
      rows.findIndex((r) => r.atm),
    );
    const from = Math.min(Math.max(0, atm - Math.floor(fit / 2)), rows.length - fit);
    rows = rows.slice(from, from + fit);
  }
  const body: Cell[][] = rows.map((r) => [
    ...legCells(r.call, 'call'),
    { text: r.atm ? `▶ ${formatPrice(r.strike)}` : formatPrice(r.strike), ...(r.atm ? { style: 'bold' as const } : {}) },
    ...legCells(r.put, 'put'),
  ]);
  out.push(
    ...table(
      ['C OI', 'C IV', 'C Δ', 'C Γ', 'C GEX', 'STRIKE', 'P GEX', 'P Γ', 'P Δ', 'P IV', 'P OI'],
      body,
      ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
      paint,
    ),
  );
  return out;
}

/**
 * One frame for a terminal: cursor home, every line overwritten and cleared to its end, the rest of
 * the screen cleared — no full-screen clear, so nothing flickers.
 */
export function frame(lines: readonly string[]): string {
  return `${ESC}H${lines.map((l) => `${l}${ESC}K`).join('\n')}\n${ESC}J`;
}

/** The compact line printed every few seconds when stdout is not a terminal. */
export function statusLine(state: ViewState): string {
  const parts: string[] = [];
  for (const component of COMPONENTS) {
    const ps = state.processes.filter((p) => p.component === component);
    if (ps.length === 0) continue;
    const ready = ps.filter((p) => p.phase === 'ready').length;
    const rate = ps.reduce((sum, p) => sum + (p.stats.rate ?? 0), 0);
    const lag = ps.some((p) => p.stats.lag !== undefined) ? ps.reduce((sum, p) => sum + (p.stats.lag ?? 0), 0) : undefined;
    const rows = ps.some((p) => p.stats.rows !== undefined) ? ps.reduce((sum, p) => sum + (p.stats.rows ?? 0), 0) : undefined;
    const errors = ps.reduce((sum, p) => sum + (p.stats.errors ?? 0), 0);
    const restarts = ps.reduce((sum, p) => sum + p.restarts, 0);
    let text = `${component} ${ready}/${ps.length} ready ${formatRate(rate)} ${ps[0]?.unit ?? ''}`;
    if (lag !== undefined) text += ` lag ${formatInt(lag)}`;
    if (rows !== undefined) text += ` rows ${formatInt(rows)}`;
    if (errors > 0) text += ` errors ${formatInt(errors)}`;
    if (restarts > 0) text += ` restarts ${restarts}`;
    parts.push(text);
  }
  const level = state.indices
    .filter((ix) => ix.price !== undefined)
    .map((ix) => `${ix.symbol} ${formatPrice(ix.price ?? 0)}`)
    .join(' ');
  if (level) parts.push(level);
  if (state.chain?.netGex !== undefined) parts.push(`net GEX ${signed(formatCompact(state.chain.netGex), state.chain.netGex)}`);
  return `[${formatDuration(state.nowMs - state.startedAtMs)}] ${state.feed}: ${parts.join(' | ')}`;
}
