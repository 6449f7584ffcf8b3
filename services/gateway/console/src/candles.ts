// 1-minute candles of any instrument: a search box over the gateway's instruments search, the
// stored bars of the last day (GET /v1/instruments/{id}/bars) drawn with lightweight-charts, and
// the current candle moved by every live quote of that instrument.
import { CandlestickSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { Api, Live } from './api.ts';
import { h, text } from './dom.ts';
import type { Bar, CatalogueEntry, Snapshot } from './types.ts';
import { type Candle, candlesOf, candleWithPrice, priceOf } from './view.ts';

export interface CandleEls {
  search: HTMLInputElement;
  results: HTMLElement;
  title: HTMLElement;
  chart: HTMLElement;
}

const asBar = (c: Candle) => ({ ...c, time: c.time as UTCTimestamp });

export class Candles {
  private readonly els: CandleEls;
  private readonly api: Api;
  private readonly live: Live;
  private readonly chart: IChartApi;
  private readonly series: ISeriesApi<'Candlestick'>;
  private instrument: string | undefined;
  private last: Candle | undefined;
  private searchTimer: number | undefined;
  private readonly onQuote = (m: { instrument: string; snapshot: Snapshot }) => this.apply(m.instrument, m.snapshot);

  constructor(els: CandleEls, api: Api, live: Live, onError: (err: unknown) => void) {
    this.els = els;
    this.api = api;
    this.live = live;
    this.chart = createChart(els.chart, {
      autoSize: true,
      layout: { background: { color: 'transparent' }, textColor: '#c9d1d9', attributionLogo: false },
      grid: { vertLines: { color: '#21262d' }, horzLines: { color: '#21262d' } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    this.series = this.chart.addSeries(CandlestickSeries, {
      upColor: '#3fb950',
      downColor: '#f85149',
      wickUpColor: '#3fb950',
      wickDownColor: '#f85149',
      borderVisible: false,
    });
    els.search.addEventListener('input', () => {
      window.clearTimeout(this.searchTimer);
      this.searchTimer = window.setTimeout(() => this.search(els.search.value.trim()).catch(onError), 200);
    });
  }

  get shown(): string | undefined {
    return this.instrument;
  }

  /** Shows an instrument's candles and follows it live. */
  async show(id: string, symbol: string): Promise<void> {
    if (this.instrument) this.live.remove([this.instrument], this.onQuote);
    this.instrument = id;
    text(this.els.title, `${symbol} · 1 minute`);
    this.els.chart.dataset.instrument = id;
    const { bars } = await this.api.get<{ bars: Bar[] }>(`/v1/instruments/${encodeURIComponent(id)}/bars?interval=1m`);
    if (this.instrument !== id) return;
    const candles = candlesOf(bars);
    this.series.setData(candles.map(asBar));
    this.last = candles.at(-1);
    this.chart.timeScale().scrollToRealTime();
    this.live.add([id], this.onQuote);
  }

  private apply(instrument: string, s: Snapshot): void {
    if (instrument !== this.instrument) return;
    const p = priceOf(s);
    const next = p && candleWithPrice(this.last, p.price, p.timeMs);
    if (!next) return;
    this.last = next;
    this.series.update(asBar(next));
    this.els.chart.dataset.close = String(next.close);
  }

  private async search(prefix: string): Promise<void> {
    if (!prefix) {
      this.els.results.replaceChildren();
      return;
    }
    const { instruments } = await this.api.get<{ instruments: CatalogueEntry[] }>(
      `/v1/instruments?prefix=${encodeURIComponent(prefix)}&limit=10`,
    );
    if (this.els.search.value.trim() !== prefix) return;
    this.els.results.replaceChildren(
      ...(instruments.length === 0
        ? [h('li', { class: 'empty' }, `No instrument starts with ${prefix}`)]
        : instruments.map((e) => {
            const li = h('li', { tabindex: 0, 'data-instrument': e.id }, h('b', {}, e.symbol), ` ${e.id}`);
            const pick = () => {
              this.els.results.replaceChildren();
              this.els.search.value = e.symbol;
              this.show(e.id, e.symbol).catch((err: unknown) => text(this.els.title, String((err as Error).message)));
            };
            li.addEventListener('click', pick);
            li.addEventListener('keydown', (ev) => ev.key === 'Enter' && pick());
            return li;
          })),
    );
  }
}
