// Index tiles: the feed's indices (from the instruments search), each with its latest level and the
// change on the previous close, updated by every live quote.
import type { Api, Live } from './api.ts';
import { h, text } from './dom.ts';
import type { CatalogueEntry, Snapshot } from './types.ts';
import { direction, formatChangePercent, formatPrice, formatTimeIst, indexIds, tileOf } from './view.ts';

interface TileEls {
  root: HTMLElement;
  price: HTMLElement;
  change: HTMLElement;
  time: HTMLElement;
  last?: number;
}

export class Tiles {
  private readonly root: HTMLElement;
  private readonly api: Api;
  private readonly live: Live;
  private readonly tiles = new Map<string, TileEls>();
  private readonly onQuote = (m: { instrument: string; snapshot: Snapshot }) => this.update(m.snapshot);

  constructor(root: HTMLElement, api: Api, live: Live) {
    this.root = root;
    this.api = api;
    this.live = live;
  }

  /** Looks for the feed's indices; new ones get a tile and a live subscription. */
  async discover(): Promise<void> {
    const { instruments } = await this.api.get<{ instruments: CatalogueEntry[] }>('/v1/instruments?prefix=IDX_I&limit=50');
    const symbols = new Map(instruments.map((e) => [e.id, e.symbol]));
    const fresh = indexIds(instruments).filter((id) => !this.tiles.has(id));
    if (fresh.length === 0) {
      if (this.tiles.size === 0) this.root.replaceChildren(h('p', { class: 'empty' }, 'No index quotes stored yet…'));
      return;
    }
    if (this.tiles.size === 0) this.root.replaceChildren();
    for (const id of fresh) {
      const els: TileEls = {
        root: h('div', { class: 'tile', 'data-instrument': id }),
        price: h('div', { class: 'tile-price' }, '—'),
        change: h('div', { class: 'tile-change' }, '—'),
        time: h('div', { class: 'tile-time' }, ''),
      };
      els.root.append(h('div', { class: 'tile-symbol' }, symbols.get(id) ?? id), els.price, els.change, els.time);
      this.root.append(els.root);
      this.tiles.set(id, els);
    }
    this.live.add(fresh, this.onQuote);
  }

  private update(s: Snapshot): void {
    const tile = tileOf(s);
    const els = tile && this.tiles.get(tile.id);
    if (!tile || !els) return;
    text(els.price, formatPrice(tile.price));
    text(els.change, tile.change === null ? '' : `${formatPrice(tile.change)}  ${formatChangePercent(tile.changePercent)}`);
    els.change.className = `tile-change ${tile.change === null ? '' : tile.change >= 0 ? 'pos' : 'neg'}`;
    text(els.time, formatTimeIst(tile.timeMs));
    const move = direction(els.last, tile.price);
    els.last = tile.price;
    if (move !== 'flat') {
      els.root.classList.remove('flash-up', 'flash-down');
      void els.root.offsetWidth; // restart the animation
      els.root.classList.add(move === 'up' ? 'flash-up' : 'flash-down');
    }
  }
}
