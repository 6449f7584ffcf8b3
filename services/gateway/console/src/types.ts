// The gateway's JSON as the console reads it (the route schemas in services/gateway/schemas.ts and
// the Snapshot of proto/stockify/v1/services.proto as JSON). Times in epoch ms UTC, prices in rupees.

export type OptionType = 'CALL' | 'PUT';

export interface InstrumentRef {
  id: string;
  symbol: string;
  segment: string;
  securityId: string;
}

export interface InstrumentMeta {
  underlying: string;
  expiry: string;
  strike: number;
  optionType: string;
}

export interface Tick {
  instrument: InstrumentRef;
  exchangeTimeMs: number;
  lastPrice: number;
  volume: number;
  openInterest: number;
  open: number;
  high: number;
  low: number;
  /** Previous session's close (0 when the source does not say). */
  close: number;
}

export interface OptionQuote {
  instrument: InstrumentRef;
  meta: InstrumentMeta;
  exchangeTimeMs: number;
  underlyingPrice: number;
  price: number;
  bidPrice: number;
  askPrice: number;
  openInterest: number;
  volume: number;
  ivAvailable: boolean;
  iv: number;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  gex: number;
}

export interface Snapshot {
  instrumentId: string;
  timeMs: number;
  tick?: Tick | null;
  optionQuote?: OptionQuote | null;
}

/** One contract of GET /v1/chains/{underlying}. */
export interface ChainContract {
  id: string;
  symbol: string;
  strike: number;
  optionType: OptionType;
  price: number;
  iv: number | null;
  delta: number;
  gamma: number;
  openInterest: number;
  gex: number;
  timeMs: number;
}

export interface GexStrike {
  strike: number;
  callGex: number;
  putGex: number;
}

export interface Chain {
  underlyingId: string;
  expiry: string;
  spot: number;
  expiries: string[];
  netGex: number;
  zeroGamma: number | null;
  contracts: ChainContract[];
  gex: { strikes: GexStrike[]; timeMs: number } | null;
}

export interface Bar {
  minuteStartMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface CatalogueEntry {
  id: string;
  symbol: string;
  segment: string;
  underlying: string;
  expiry: string;
  strike: number;
  optionType: string;
}

export interface ShardStatus {
  feed: string;
  component: string;
  shardIndex: number;
  shardCount: number;
  instruments: number;
  ticksPerSecond: number;
  lastTickMs: number;
  connectionState: string;
  lag: number;
  errors: number;
}

export interface StatusReport {
  shards: ShardStatus[];
  unreachable: { endpoint: string; error: string }[];
}

/** RFC 9457 problem details, as every gateway error is. */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  field?: string;
}
