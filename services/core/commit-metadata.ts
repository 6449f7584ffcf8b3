// The metadata a consumer commits beside an offset. The processor's committed offset is where a
// restart must replay from (never past the first record of a 1-minute bar still open), which can
// trail what it has already processed and sent on by up to a minute of records, and stays there
// while no record arrives (market closed). So it also commits how far it processed: consumer lag
// (operator/controller/topics.ts) is measured from that, not from the replay point. Pure.

const PROCESSED = /^processed=(\d+)$/;

/** The metadata saying every record before `offset` was processed and its output acknowledged. */
export const processedMetadata = (offset: number): string => `processed=${offset}`;

/** The processed offset a commit's metadata carries, if it carries one. */
export function processedOffset(metadata: string | null | undefined): number | undefined {
  const m = PROCESSED.exec(metadata ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Records of a partition still to be worked off: from the later of the committed offset and the
 * processed one to the high watermark. A partition the group never committed counts whole
 * (high − low: what it would still have to read).
 */
export function partitionLag(p: { high: number; low: number; committed: number; metadata?: string | null }): number {
  if (p.committed < 0) return Math.max(0, p.high - p.low);
  // Below low, the records were deleted by retention: nothing left to read there.
  const from = Math.max(p.low, p.committed, processedOffset(p.metadata) ?? p.committed);
  return Math.max(0, p.high - from);
}
