// The web console's entry point: asks for a token when the gateway says spec.auth is on, then
// wires the panels to the gateway's REST API and one live WebSocket.
import { Api, ApiError, type ConsoleConfig, Live } from './api.ts';
import { Candles } from './candles.ts';
import { ChainPanel } from './chain.ts';
import { byId, every, text } from './dom.ts';
import { forgetToken, login } from './login.ts';
import { StatusPanel } from './status.ts';
import { Tiles } from './tiles.ts';
import { problemText } from './view.ts';
import './console.css';

async function main(): Promise<void> {
  const api = new Api();
  const config = (await (await fetch('/console/config.json')).json()) as ConsoleConfig;
  if (config.auth) {
    await login(api);
    const logout = byId<HTMLButtonElement>('logout');
    logout.hidden = false;
    logout.onclick = () => {
      forgetToken();
      location.reload();
    };
  }
  byId('app').hidden = false;

  const banner = byId('banner');
  const report = (err: unknown): void => {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      // The token expired or was revoked while the page was open: back to the form.
      forgetToken();
      location.reload();
      return;
    }
    text(banner, err instanceof ApiError ? problemText(err.problem) : String((err as Error)?.message ?? err));
    banner.hidden = false;
  };
  const ok = () => {
    banner.hidden = true;
  };

  const liveState = byId('live-state');
  const live = new Live(api, (state, why) => {
    liveState.className = `live ${state}`;
    text(liveState, state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : `offline: ${why ?? ''}`);
  });
  live.start();

  const status = new StatusPanel(byId('status-body'), api);
  const tiles = new Tiles(byId('tiles'), api, live);
  const chain = new ChainPanel(
    {
      underlying: byId<HTMLSelectElement>('chain-underlying'),
      expiry: byId<HTMLSelectElement>('chain-expiry'),
      summary: byId('chain-summary'),
      body: byId('chain-body'),
      note: byId('chain-note'),
    },
    api,
    live,
  );
  const candles = new Candles(
    {
      search: byId<HTMLInputElement>('candle-search'),
      results: byId('candle-results'),
      title: byId('candle-title'),
      chart: byId('candle-chart'),
    },
    api,
    live,
    report,
  );

  every(
    5_000,
    async () => {
      await status.refresh();
      text(byId('feed-name'), status.feed);
      ok();
    },
    report,
  );
  every(
    10_000,
    async () => {
      await tiles.discover();
      await chain.discover();
      if (!candles.shown) {
        const first = document.querySelector<HTMLElement>('.tile[data-instrument]');
        const id = first?.dataset.instrument;
        if (id) await candles.show(id, first.querySelector('.tile-symbol')?.textContent ?? id);
      }
    },
    report,
  );
  every(5_000, () => chain.refresh(), report);
}

main().catch((err: unknown) => {
  const banner = document.getElementById('banner');
  if (banner) {
    banner.textContent = `The console could not start: ${(err as Error).message}`;
    banner.hidden = false;
  }
});
