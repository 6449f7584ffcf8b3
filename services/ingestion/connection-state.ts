// The source's connection state as a gauge: 1 for the state it is in, 0 for every other.
import type { IngestionMetrics } from './metrics.ts';
import type { ConnectionState, Source } from './source.ts';

const STATES: readonly ConnectionState[] = [
  'STARTING',
  'RUNNING',
  'CONNECTED',
  'RECONNECTING',
  'EXPIRED_TOKEN',
  'FINISHED',
  'STOPPED',
  'FAILED',
];
const REFRESH_MS = 5_000;

/** Sets the gauge now and every few seconds for as long as the process runs. */
export function trackConnectionState(source: Source, metrics: IngestionMetrics): void {
  const refresh = (): void => {
    for (const s of STATES) metrics.connectionState.set({ state: s }, s === source.state() ? 1 : 0);
  };
  refresh();
  setInterval(refresh, REFRESH_MS).unref();
}
