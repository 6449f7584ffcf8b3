// Checks every record must pass before it is published (pure). A failed check names the reason
// (the DLQ metric label) and what was wrong.
import type { RawRecord } from '../core/messages.ts';
import { shardOf } from '../core/sharding.ts';
import type { RejectReason } from './source.ts';

export interface ValidationContext {
  shardIndex: number;
  shardCount: number;
  /** Instruments this shard publishes; undefined = any instrument that hashes to the shard. */
  known?: ReadonlySet<string>;
  /** Largest allowed |exchange time − now| in ms; undefined = not checked (simulated/recorded time). */
  maxSkewMs?: number;
  nowMs: number;
}

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

const OK: Verdict = { ok: true };
const fail = (reason: RejectReason, detail: string): Verdict => ({ ok: false, reason, detail });
const goodPrice = (p: number): boolean => Number.isFinite(p) && p > 0;

function checkInstrument(id: string, ctx: ValidationContext): Verdict {
  if (ctx.known && !ctx.known.has(id)) {
    return shardOf(id, ctx.shardCount) === ctx.shardIndex
      ? fail('unknown-instrument', `instrument ${id} is not in this shard's instrument list`)
      : fail('not-in-shard', `instrument ${id} belongs to shard ${shardOf(id, ctx.shardCount)}, not ${ctx.shardIndex}`);
  }
  if (!ctx.known && shardOf(id, ctx.shardCount) !== ctx.shardIndex) {
    return fail('not-in-shard', `instrument ${id} belongs to shard ${shardOf(id, ctx.shardCount)}, not ${ctx.shardIndex}`);
  }
  return OK;
}

function checkTime(timeMs: number, ctx: ValidationContext): Verdict {
  if (!Number.isFinite(timeMs) || timeMs <= 0) return fail('bad-time', `timestamp ${timeMs} is not a positive epoch ms`);
  if (ctx.maxSkewMs !== undefined && Math.abs(timeMs - ctx.nowMs) > ctx.maxSkewMs) {
    return fail('time-skew', `timestamp ${new Date(timeMs).toISOString()} is more than ${ctx.maxSkewMs} ms from now`);
  }
  return OK;
}

export function validateRecord(record: RawRecord, ctx: ValidationContext): Verdict {
  switch (record.payload) {
    case 'tick': {
      const t = record.tick;
      if (!t.instrument?.id) return fail('malformed', 'tick without an instrument id');
      // An option contract streamed live belongs to the shard of its underlying (its chain's shard).
      const option = t.meta && (t.meta.optionType === 'CALL' || t.meta.optionType === 'PUT') && t.meta.underlying;
      const inst = checkInstrument(option || t.instrument.id, ctx);
      if (!inst.ok) return inst;
      if (!goodPrice(t.lastPrice)) return fail('bad-price', `last price ${t.lastPrice} of ${t.instrument.id} is not > 0`);
      for (const v of [t.open, t.high, t.low, t.close, t.averagePrice]) {
        if (!Number.isFinite(v) || v < 0) return fail('bad-price', `price field ${v} of ${t.instrument.id} is not ≥ 0`);
      }
      for (const d of t.depth) {
        if (![d.bidPrice, d.askPrice].every((p) => Number.isFinite(p) && p >= 0)) {
          return fail('bad-price', `depth price of ${t.instrument.id} is not ≥ 0`);
        }
      }
      return checkTime(t.exchangeTimeMs, ctx);
    }
    case 'chain': {
      const c = record.chain;
      if (!c.underlying?.id) return fail('malformed', 'chain snapshot without an underlying id');
      const inst = checkInstrument(c.underlying.id, ctx);
      if (!inst.ok) return inst;
      if (!goodPrice(c.underlyingPrice))
        return fail('bad-price', `underlying price ${c.underlyingPrice} of ${c.underlying.id} is not > 0`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(c.expiry)) return fail('malformed', `expiry '${c.expiry}' is not YYYY-MM-DD`);
      for (const row of c.rows) {
        for (const leg of [row.call, row.put]) {
          if (leg && (!Number.isFinite(leg.lastPrice) || leg.lastPrice < 0)) {
            return fail('bad-price', `option price ${leg.lastPrice} of ${leg.instrument.id} is not ≥ 0`);
          }
        }
      }
      return checkTime(c.exchangeTimeMs, ctx);
    }
    case 'status':
      return checkTime(record.status.timeMs, ctx);
    case 'gap':
      return checkTime(record.gap.detectedMs, ctx);
  }
}
