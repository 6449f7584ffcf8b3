// Which of the shard file's instruments this shard really handles (rendezvous hashing decides).
import type { Logger } from '../core/log.ts';
import { instrumentId } from '../core/messages.ts';
import type { InstrumentSpec, ShardFile } from '../core/shardfile.ts';
import { shardOf } from '../core/sharding.ts';

/** The shard file's instruments that really belong to this shard; the others are logged and left out. */
export function ownInstruments(file: ShardFile, shardIndex: number, shardCount: number, log: Logger): InstrumentSpec[] {
  const own: InstrumentSpec[] = [];
  for (const spec of file.instruments) {
    const id = instrumentId(spec.segment, spec.securityId);
    const owner = shardOf(id, shardCount);
    if (owner !== shardIndex) {
      log.error(
        { instrument: id, symbol: spec.symbol, owner, shard: shardIndex },
        'instrument in the shard file belongs to another shard; skipped',
      );
      continue;
    }
    own.push(spec);
  }
  return own;
}
