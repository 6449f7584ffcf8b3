// Instrument → shard by rendezvous (highest-random-weight) hashing. Pure and deterministic across
// processes and restarts: going from N to N+1 shards moves about 1/(N+1) of the instruments, all
// of them to the new shard, and never moves one between two shards that both stay.

/** 53-bit string hash (cyrb53): well mixed, fast, no dependencies. */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The shard (0 ≤ shard < shardCount) that owns an instrument. */
export function shardOf(instrumentId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) {
    throw new RangeError(`shardCount must be a positive integer, got ${shardCount}`);
  }
  let best = 0;
  let bestWeight = -1;
  for (let shard = 0; shard < shardCount; shard++) {
    const weight = hash53(instrumentId, shard);
    if (weight > bestWeight) {
      bestWeight = weight;
      best = shard;
    }
  }
  return best;
}

/** Splits instruments into shardCount groups, keeping the input order within each group. */
export function assignShards<T>(items: readonly T[], shardCount: number, idOf: (item: T) => string): T[][] {
  const groups: T[][] = Array.from({ length: shardCount }, () => []);
  for (const item of items) groups[shardOf(idOf(item), shardCount)]?.push(item);
  return groups;
}

/** The instruments whose shard differs between two shard counts. */
export function movedInstruments(ids: readonly string[], from: number, to: number): { id: string; from: number; to: number }[] {
  const moved: { id: string; from: number; to: number }[] = [];
  for (const id of ids) {
    const a = shardOf(id, from);
    const b = shardOf(id, to);
    if (a !== b) moved.push({ id, from: a, to: b });
  }
  return moved;
}
