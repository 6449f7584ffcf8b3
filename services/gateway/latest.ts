// GET /v1/latest. MarketData's GetLatest answers from Redis latest:<id> and reads PostgreSQL only
// for what Redis lacks; the gateway has the same Redis, so when Redis holds every instrument asked
// for it answers from there itself and spares the request a gRPC round trip through a storage pod
// (and the storage pod the work). Anything else — an id Redis lacks, an invalid or over-long list,
// Redis unreachable — goes to MarketData as a whole, so its answer, its validation (INVALID_ARGUMENT
// → 400 naming the field) and its PostgreSQL fallback stay the one source of truth.
//
// Under load the fast path costs a request little: the reads of all requests that arrive in one turn
// of the event loop go to Redis as one pipeline, each id once (a read is always sent after the
// request arrived, so nothing is staler than a read of its own), and each snapshot's JSON is kept
// until Redis holds other bytes for the instrument.
import type { Snapshot } from '../core/messages.ts';
import { codec } from '../core/proto.ts';
import { MAX_INSTRUMENTS } from '../storage/requests.ts';

const snapshotCodec = codec<Snapshot>('Snapshot');

/**
 * The ids the Redis fast path may answer, in GetLatest's order (first occurrence, duplicates
 * dropped); undefined when the list is one MarketData must judge (empty or too long).
 */
export function fastPathIds(ids: readonly string[]): string[] | undefined {
  if (ids.length === 0 || ids.length > MAX_INSTRUMENTS) return undefined;
  return ids.length === 1 ? [...ids] : [...new Set(ids)];
}

type ReadLatest = (ids: string[]) => Promise<Map<string, Buffer>>;

interface Batch {
  readonly ids: Set<string>;
  readonly result: Promise<Map<string, Buffer>>;
}

export class LatestReader {
  private readonly read: ReadLatest;
  private readonly schedule: (run: () => void) => void;
  private readonly maxCached: number;
  private batch: Batch | undefined;
  /** Per instrument: the snapshot bytes last seen and their JSON (insertion order = age). */
  private readonly cache = new Map<string, { bytes: Buffer; json: string }>();
  /** Redis pipelines sent (one per batch). */
  reads = 0;

  /**
   * `read`: the latest snapshot bytes of the ids Redis has (one round trip); `schedule` runs a batch
   * after the requests of the current turn (setImmediate by default).
   */
  constructor(read: ReadLatest, opts: { schedule?: (run: () => void) => void; maxCached?: number } = {}) {
    this.read = read;
    this.schedule = opts.schedule ?? ((run) => setImmediate(run));
    this.maxCached = opts.maxCached ?? 20_000;
  }

  /**
   * The GetLatestResponse JSON of `ids` (already checked by fastPathIds) when Redis has every one of
   * them; undefined when it lacks one (MarketData answers those).
   */
  async json(ids: readonly string[]): Promise<string | undefined> {
    const found = await this.fetch(ids);
    let body = '{"snapshots":[';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const bytes = found.get(id);
      if (!bytes) return undefined;
      if (i > 0) body += ',';
      body += this.snapshotJson(id, bytes);
    }
    return `${body}]}`;
  }

  private fetch(ids: readonly string[]): Promise<Map<string, Buffer>> {
    let batch = this.batch;
    if (!batch) {
      const wanted = new Set<string>();
      const result = new Promise<Map<string, Buffer>>((resolve, reject) => {
        this.schedule(() => {
          this.batch = undefined;
          this.reads++;
          this.read([...wanted]).then(resolve, reject);
        });
      });
      batch = { ids: wanted, result };
      this.batch = batch;
    }
    for (const id of ids) batch.ids.add(id);
    return batch.result;
  }

  /** The Snapshot as the gRPC client decodes it, as JSON; made again only when the bytes change. */
  private snapshotJson(id: string, bytes: Buffer): string {
    const hit = this.cache.get(id);
    if (hit?.bytes.equals(bytes)) return hit.json;
    const json = JSON.stringify(snapshotCodec.decode(bytes));
    if (hit) this.cache.delete(id);
    else if (this.cache.size >= this.maxCached) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(id, { bytes, json });
    return json;
  }
}
