// Message shapes as a gRPC client receives them (proto-loader: camelCase, int64 as number).
export type {
  Bar,
  EnrichedRecord,
  OptionChain,
  Snapshot as SnapshotUnion,
  Tick,
} from '../../../services/core/messages.ts';

import type { OptionQuote, Tick } from '../../../services/core/messages.ts';

export interface GetTicksResponse {
  ticks: Tick[];
  nextPageToken: string;
}

/** A Snapshot off the wire: the oneof field is set, `payload` names it. */
export interface Snapshot {
  instrumentId: string;
  timeMs: number;
  payload?: string;
  tick?: Tick | null;
  optionQuote?: OptionQuote | null;
}
