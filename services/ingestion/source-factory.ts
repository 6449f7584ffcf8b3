// Builds the source the shard file names (simulator, replay or Dhan) from the shard's own
// instruments, and reads the variables only a Dhan source needs.
import { readFileSync } from 'node:fs';
import { type Config, loadConfig } from '../core/config.ts';
import type { Logger } from '../core/log.ts';
import type { InstrumentSpec, ShardFile } from '../core/shardfile.ts';
import { shardPlan } from './dhan/budget.ts';
import { parseScripMaster, type ScripMaster } from './dhan/scrip-master.ts';
import { DhanSource } from './dhan/source.ts';
import type { IngestionFlags } from './flags.ts';
import type { IngestionMetrics } from './metrics.ts';
import { ReplaySource } from './replay/source.ts';
import { SimulatorSource } from './simulator/source.ts';
import type { Source } from './source.ts';

const DHAN_ENV = ['DHAN_CLIENT_ID', 'DHAN_ACCESS_TOKEN', 'DHAN_FEED_URL', 'DHAN_API_URL', 'DHAN_SCRIP_MASTER_URL'] as const;
export type DhanConfig = Config<(typeof DHAN_ENV)[number]>;

/** The DHAN_* variables when the shard's source is Dhan (throws ConfigError if one is bad). */
export function dhanConfigFor(file: ShardFile): DhanConfig | undefined {
  return file.source.type === 'dhan' ? loadConfig(DHAN_ENV) : undefined;
}

export interface SourceContext {
  file: ShardFile;
  instruments: InstrumentSpec[];
  dhan: DhanConfig | undefined;
  flags: Pick<IngestionFlags, 'realTime' | 'limit' | 'scripMaster'>;
  log: Logger;
  metrics: IngestionMetrics;
}

export async function buildSource(ctx: SourceContext): Promise<Source> {
  const { file, instruments, flags } = ctx;
  const src = file.source;
  switch (src.type) {
    case 'simulator':
      return new SimulatorSource(
        {
          seed: src.seed,
          ticksPerSecond: src.ticksPerSecond,
          chainSnapshotsPerSecond: src.chainSnapshotsPerSecond,
          startTimeMs: src.startTime ? Date.parse(src.startTime) : Date.now(),
          instruments,
          pricing: file.pricing,
        },
        { realTime: flags.realTime, limit: flags.limit, startWhenRun: !src.startTime },
      );
    case 'replay':
      return new ReplaySource({ path: src.path, format: src.format, speed: src.speed });
    case 'dhan':
      return dhanSource(ctx, src.mode, await scripMasterFor(ctx));
  }
}

/**
 * Dhan's instrument master (it turns on live option contracts): --scrip-master names a file, else
 * DHAN_SCRIP_MASTER_URL (spec.source.dhan.scripMasterUrl) is fetched. A URL that cannot be read is
 * one error line and options from the REST chain only: the live feed matters more.
 */
async function scripMasterFor(ctx: SourceContext): Promise<ScripMaster | undefined> {
  const { flags, dhan, log } = ctx;
  if (flags.scripMaster) return parseScripMaster(readFileSync(flags.scripMaster, 'utf8'));
  const url = dhan?.DHAN_SCRIP_MASTER_URL;
  if (!url) return undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const master = parseScripMaster(await res.text());
    log.info({ url, rows: master.rows.length, skipped: master.skipped }, 'scrip master loaded');
    return master;
  } catch (err) {
    log.error(
      { url, err: (err as Error).message },
      'cannot read the scrip master: option contracts come from the REST chain only, not live',
    );
    return undefined;
  }
}

function dhanSource(ctx: SourceContext, mode: 'ticker' | 'quote' | 'full', master: ScripMaster | undefined): Source {
  const { dhan, instruments, file } = ctx;
  if (!dhan) throw new Error('dhan source without DHAN_* configuration');
  return new DhanSource({
    feedUrl: dhan.DHAN_FEED_URL,
    apiUrl: dhan.DHAN_API_URL,
    clientId: dhan.DHAN_CLIENT_ID,
    accessToken: dhan.DHAN_ACCESS_TOKEN,
    mode,
    plan: shardPlan(file, instruments, file.shard),
    chains: instruments.flatMap((i) =>
      i.optionChain
        ? [
            {
              segment: i.segment,
              securityId: i.securityId,
              symbol: i.symbol,
              optionSegment: i.optionChain.segment,
              lotSize: i.optionChain.lotSize,
              expiries: i.optionChain.expiries,
              strikes: i.optionChain.strikes,
            },
          ]
        : [],
    ),
    scripMaster: master,
    log: ctx.log,
    metrics: ctx.metrics,
  });
}
