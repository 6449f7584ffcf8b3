// The feed's shard status: GET /v1/status (stockify.v1.Shard GetStatus of every shard process the
// gateway is configured to see), polled.
import type { Api } from './api.ts';
import { h } from './dom.ts';
import type { StatusReport } from './types.ts';
import { shardRows } from './view.ts';

export class StatusPanel {
  private readonly body: HTMLElement;
  private readonly api: Api;
  /** The feed's name, from the first shard that reports one. */
  feed = '';

  constructor(body: HTMLElement, api: Api) {
    this.body = body;
    this.api = api;
  }

  async refresh(): Promise<void> {
    const report = await this.api.get<StatusReport>('/v1/status');
    this.feed = report.shards.find((s) => s.feed)?.feed ?? this.feed;
    const rows = shardRows(report, Date.now());
    if (rows.length === 0) {
      this.body.replaceChildren(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No shard process answered.')));
      return;
    }
    this.body.replaceChildren(
      ...rows.map((r) =>
        h(
          'tr',
          { class: r.healthy ? 'ok' : 'bad', 'data-key': r.key },
          h('td', {}, r.shard),
          h('td', {}, r.component),
          h('td', { class: 'num' }, String(r.instruments)),
          h('td', { class: 'num' }, r.ticksPerSecond),
          h('td', { class: 'num' }, String(r.lag)),
          h('td', { class: 'num' }, String(r.errors)),
          h('td', {}, r.lastTick),
          h('td', {}, h('span', { class: 'state' }, r.state)),
        ),
      ),
    );
  }
}
