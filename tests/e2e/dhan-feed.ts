// The Dhan MarketFeed of the end-to-end test: its manifest (one shard, a broadcasting Dhan double
// on the host as its source), the host process id of a pod's container (for a real SIGKILL), and
// the ticks and gaps it stored, read back from PostgreSQL.
import { readdirSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import type { BroadcastInstrument, SentPacket } from '../integration/ingestion/dhan-broadcaster.ts';

export const DHAN_INSTRUMENTS: BroadcastInstrument[] = [9101, 9102, 9103, 9104].map((securityId) => ({
  segment: 'NSE_EQ',
  securityId,
}));
export const dhanInstrumentIds = DHAN_INSTRUMENTS.map((i) => `${i.segment}:${i.securityId}`);

export function dhanFeedManifest(o: {
  name: string;
  namespace: string;
  secret: string;
  kafka: string;
  redis: string;
  /** The double's port: the feed's NetworkPolicy admits the Dhan hosts on these ports only (443 by default). */
  dhanPorts: number[];
  /** Where the API server listens as pods reach it (the ingestion posts gap Events there). */
  apiServerPorts: number[];
}): Record<string, unknown> {
  return {
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      shards: 1,
      imagePullPolicy: 'Never',
      source: { type: 'dhan', dhan: { credentialsSecretRef: { name: o.secret }, mode: 'quote' } },
      instruments: DHAN_INSTRUMENTS.map((i) => ({
        symbol: `E2E${i.securityId}`,
        securityId: String(i.securityId),
        segment: i.segment,
        kind: 'equity',
      })),
      kafka: { bootstrapServers: o.kafka, partitionsPerShard: 1, replicationFactor: 1, deletionPolicy: 'Delete' },
      postgres: { secretRef: { name: 'stockify-postgres' } },
      redis: { url: o.redis },
      processor: { replicas: 1 },
      storage: { replicas: 1 },
      networkPolicy: { egress: { dhan: { ports: o.dhanPorts }, apiServer: { ports: o.apiServerPorts } } },
    },
  };
}

/** The host pid of the `stockify <component>` process of a pod (its container's PID 1), read from /proc. */
export function hostPidOf(podName: string, component: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(`/services/stockify.js\0${component}`)) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`HOSTNAME=${podName}`)) return Number(entry);
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return undefined;
}

/** Volumes (= packet numbers + 1) of the feed's ticks stored since sinceMs, and how many rows hold them. */
export async function storedPackets(db: pg.Pool, sinceMs: number): Promise<{ volumes: Set<number>; rows: number }> {
  const r = await db.query<{ volume: string }>(
    `SELECT volume FROM ticks WHERE instrument_id = ANY($1) AND received_time >= to_timestamp($2 / 1000.0)`,
    [dhanInstrumentIds, sinceMs - 60_000],
  );
  return { volumes: new Set(r.rows.map((row) => Number(row.volume))), rows: r.rows.length };
}

export interface GapRow {
  shard: number;
  fromMs: number;
  toMs: number;
  instrumentIds: string[];
}

export async function storedGaps(db: pg.Pool, namespace: string, feed: string): Promise<GapRow[]> {
  const r = await db.query<{ shard: number; from_ms: string; to_ms: string; instrument_ids: string[] }>(
    `SELECT shard, (extract(epoch FROM from_time) * 1000)::bigint AS from_ms, (extract(epoch FROM to_time) * 1000)::bigint AS to_ms, instrument_ids
     FROM gaps WHERE namespace = $1 AND feed = $2 ORDER BY from_time`,
    [namespace, feed],
  );
  return r.rows.map((row) => ({
    shard: row.shard,
    fromMs: Number(row.from_ms),
    toMs: Number(row.to_ms),
    instrumentIds: row.instrument_ids,
  }));
}

/** The packets of `window` not stored, and those of them outside every gap. */
export function unaccounted(window: readonly SentPacket[], stored: Set<number>, gaps: readonly GapRow[]) {
  const missing = window.filter((p) => !stored.has(p.volume));
  const outside = missing.filter(
    (p) =>
      !gaps.some((g) => g.instrumentIds.includes(p.instrumentId) && p.exchangeTimeMs >= g.fromMs && p.exchangeTimeMs <= g.toMs),
  );
  return { missing, outside };
}
