// The live option chain of one underlying and expiry: calls and puts per strike with IV, Δ, Γ, OI
// and GEX, net GEX per strike as a bar, the ATM strike highlighted and a line where net GEX
// changes sign (zero gamma). The REST chain (every few seconds) gives the contracts, net GEX and
// zero gamma; live option quotes and the underlying's ticks move prices, Greeks and spot between.
import { type Api, ApiError, type Live } from './api.ts';
import { h, text, throttled } from './dom.ts';
import type { CatalogueEntry, Chain, ChainContract, Snapshot } from './types.ts';
import {
  atmStrike,
  type ChainRow,
  type ChainSide,
  chainRows,
  chainUnderlyings,
  contractOfQuote,
  formatCompact,
  formatDelta,
  formatGamma,
  formatGex,
  formatIv,
  formatPrice,
  formatTimeIst,
  maxAbsGex,
  pickExpiry,
  zeroGammaLine,
} from './view.ts';

export interface ChainEls {
  underlying: HTMLSelectElement;
  expiry: HTMLSelectElement;
  summary: HTMLElement;
  body: HTMLElement;
  note: HTMLElement;
}

const COLUMNS = 14;

export class ChainPanel {
  private readonly els: ChainEls;
  private readonly api: Api;
  private readonly live: Live;
  private chain: Chain | undefined;
  private readonly contracts = new Map<string, ChainContract>();
  private spot = 0;
  private subscribed: string[] = [];
  private readonly render = throttled(() => this.draw());
  private readonly onQuote = (m: { instrument: string; snapshot: Snapshot }) => this.apply(m.snapshot);

  constructor(els: ChainEls, api: Api, live: Live) {
    this.els = els;
    this.api = api;
    this.live = live;
    els.underlying.addEventListener('change', () => this.switchTo(els.underlying.value, undefined));
    els.expiry.addEventListener('change', () => this.switchTo(els.underlying.value, els.expiry.value));
  }

  /** Underlyings with option contracts (from the instruments search); the first one is shown. */
  async discover(): Promise<void> {
    const found: CatalogueEntry[] = [];
    for (const prefix of ['NSE_FNO', 'BSE_FNO']) {
      const r = await this.api.get<{ instruments: CatalogueEntry[] }>(`/v1/instruments?prefix=${prefix}&limit=200`);
      found.push(...r.instruments);
    }
    const known = new Set([...this.els.underlying.options].map((o) => o.value));
    for (const id of chainUnderlyings(found)) {
      if (known.has(id)) continue;
      const option = h('option', { value: id }, id);
      this.els.underlying.append(option);
      const named = await this.api.get<{ instruments: CatalogueEntry[] }>(
        `/v1/instruments?prefix=${encodeURIComponent(id)}&limit=1`,
      );
      const symbol = named.instruments.find((e) => e.id === id)?.symbol;
      if (symbol) option.textContent = symbol;
    }
    if (!this.chain && this.els.underlying.value) await this.load(this.els.underlying.value, undefined);
    else if (!this.els.underlying.value) text(this.els.note, 'No option contracts stored yet…');
  }

  /** The REST chain again (contracts, net GEX, zero gamma, expiries). */
  async refresh(): Promise<void> {
    if (this.chain) await this.load(this.chain.underlyingId, this.els.expiry.value || undefined);
  }

  private switchTo(underlying: string, expiry: string | undefined): void {
    this.chain = undefined;
    this.contracts.clear();
    this.load(underlying, expiry).catch((err: unknown) => text(this.els.note, String((err as Error).message)));
  }

  private async load(underlying: string, expiry: string | undefined): Promise<void> {
    const q = expiry ? `?expiry=${encodeURIComponent(expiry)}` : '';
    let chain: Chain;
    try {
      chain = await this.api.get<Chain>(`/v1/chains/${encodeURIComponent(underlying)}${q}`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        text(this.els.note, `No option chain stored for ${underlying}${expiry ? ` expiring ${expiry}` : ''} yet.`);
        return;
      }
      throw err;
    }
    const switched = this.chain?.underlyingId !== chain.underlyingId || this.chain?.expiry !== chain.expiry;
    this.chain = chain;
    this.spot = chain.spot;
    if (switched) this.contracts.clear();
    for (const c of chain.contracts) {
      const have = this.contracts.get(c.id);
      if (!have || have.timeMs <= c.timeMs) this.contracts.set(c.id, c);
    }
    this.fillExpiries(chain);
    this.resubscribe([chain.underlyingId, ...chain.contracts.map((c) => c.id)]);
    text(this.els.note, '');
    this.render();
  }

  private fillExpiries(chain: Chain): void {
    const sel = this.els.expiry;
    const want = pickExpiry(chain, chain.expiry);
    const current = [...sel.options].map((o) => o.value).join();
    if (current !== chain.expiries.join()) sel.replaceChildren(...chain.expiries.map((e) => h('option', { value: e }, e)));
    sel.value = want;
  }

  private resubscribe(ids: string[]): void {
    const want = new Set(ids);
    const gone = this.subscribed.filter((id) => !want.has(id));
    if (gone.length > 0) this.live.remove(gone, this.onQuote);
    const fresh = ids.filter((id) => !this.subscribed.includes(id));
    if (fresh.length > 0) this.live.add(fresh, this.onQuote);
    this.subscribed = ids;
  }

  private apply(s: Snapshot): void {
    const chain = this.chain;
    if (!chain) return;
    if (s.instrumentId === chain.underlyingId && s.tick) {
      this.spot = s.tick.lastPrice;
      this.render();
      return;
    }
    const c = s.optionQuote && contractOfQuote(s.optionQuote);
    if (!c || s.optionQuote?.meta.expiry !== chain.expiry) return;
    const have = this.contracts.get(c.id);
    if (have && have.timeMs > c.timeMs) return;
    this.contracts.set(c.id, c);
    if (s.optionQuote && s.optionQuote.underlyingPrice > 0) this.spot = s.optionQuote.underlyingPrice;
    this.render();
  }

  private draw(): void {
    const chain = this.chain;
    if (!chain) return;
    const rows = chainRows(this.contracts.values());
    const strikes = rows.map((r) => r.strike);
    const atm = atmStrike(strikes, this.spot);
    const zero = zeroGammaLine(strikes, chain.zeroGamma);
    const scale = maxAbsGex(rows);
    const out: HTMLElement[] = rows.map((r) => this.row(r, r.strike === atm, scale));
    if (zero) {
      const where = zero.where === 'inside' ? '' : ` (${zero.where} the strikes shown)`;
      out.splice(
        zero.index,
        0,
        h(
          'tr',
          { class: `zero-gamma ${zero.where}`, 'data-level': zero.level.toFixed(2) },
          h('td', { colspan: COLUMNS }, h('span', {}, `Zero gamma ${formatPrice(zero.level)}${where}`)),
        ),
      );
    }
    this.els.body.replaceChildren(...out);
    this.els.body.dataset.expiry = chain.expiry;
    this.els.body.dataset.underlying = chain.underlyingId;
    const s = this.els.summary;
    s.replaceChildren(
      h('span', {}, 'Spot ', h('b', { 'data-field': 'spot' }, formatPrice(this.spot))),
      h(
        'span',
        {},
        'Net GEX ',
        h('b', { 'data-field': 'net-gex', class: chain.netGex >= 0 ? 'pos' : 'neg' }, formatGex(chain.netGex)),
      ),
      h('span', {}, 'Zero gamma ', h('b', { 'data-field': 'zero-gamma' }, formatPrice(chain.zeroGamma))),
      h('span', {}, 'ATM ', h('b', { 'data-field': 'atm' }, formatPrice(atm))),
      h('span', { class: 'muted' }, `GEX at ${formatTimeIst(chain.gex?.timeMs)} IST`),
    );
  }

  private row(r: ChainRow, atm: boolean, scale: number): HTMLElement {
    const side = (x: ChainSide | undefined, order: 'call' | 'put') => {
      const cells = [
        h('td', { class: 'num gex' }, formatGex(x?.gex)),
        h('td', { class: 'num' }, formatCompact(x?.openInterest)),
        h('td', { class: 'num' }, formatIv(x?.iv)),
        h('td', { class: 'num' }, formatDelta(x?.delta)),
        h('td', { class: 'num' }, formatGamma(x?.gamma)),
        h('td', { class: 'num ltp' }, formatPrice(x?.price)),
      ];
      return order === 'call' ? cells : cells.reverse();
    };
    const bar = h('div', { class: `bar ${r.netGex >= 0 ? 'pos' : 'neg'}` });
    // Through the CSSOM, which the page's Content-Security-Policy allows (a style attribute it would not).
    bar.style.width = `${scale > 0 ? Math.round((Math.abs(r.netGex) / scale) * 100) : 0}%`;
    return h(
      'tr',
      { class: atm ? 'atm' : undefined, 'data-strike': r.strike },
      ...side(r.call, 'call'),
      h('td', { class: 'strike' }, formatPrice(r.strike)),
      ...side(r.put, 'put'),
      h('td', { class: 'gexbar', title: formatGex(r.netGex) }, bar),
    );
  }
}
