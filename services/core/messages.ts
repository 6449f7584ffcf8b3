// TypeScript shapes of the proto/ contracts (camelCase, int64 as number, enums as string unions).
// tests/unit/core/messages.test.ts fails when these drift from the .proto files.

export type Segment = 'IDX_I' | 'NSE_EQ' | 'NSE_FNO' | 'NSE_CURRENCY' | 'BSE_EQ' | 'MCX_COMM' | 'BSE_CURRENCY' | 'BSE_FNO';
export const SEGMENT_CODES: Readonly<Record<Segment, number>> = {
  IDX_I: 0,
  NSE_EQ: 1,
  NSE_FNO: 2,
  NSE_CURRENCY: 3,
  BSE_EQ: 4,
  MCX_COMM: 5,
  BSE_CURRENCY: 7,
  BSE_FNO: 8,
};
export type OptionType = 'OPTION_TYPE_UNSPECIFIED' | 'CALL' | 'PUT';

/** "<SEGMENT>:<securityId>", the Kafka key and the id everywhere. */
export type InstrumentId = string & { readonly __brand: 'InstrumentId' };
export function instrumentId(segment: Segment, securityId: string): InstrumentId {
  return `${segment}:${securityId}` as InstrumentId;
}

export interface InstrumentRef {
  id: string;
  symbol: string;
  segment: Segment;
  securityId: string;
}

export interface InstrumentMeta {
  underlying: string;
  expiry: string;
  strike: number;
  optionType: OptionType;
  lotSize: number;
  tickSize: number;
}

export interface DepthLevel {
  bidPrice: number;
  bidQuantity: number;
  bidOrders: number;
  askPrice: number;
  askQuantity: number;
  askOrders: number;
}

export interface Tick {
  instrument: InstrumentRef;
  exchangeTimeMs: number;
  receivedTimeMs: number;
  seq: number;
  lastPrice: number;
  lastQuantity: number;
  volume: number;
  openInterest: number;
  averagePrice: number;
  open: number;
  high: number;
  low: number;
  close: number;
  totalBuyQuantity: number;
  totalSellQuantity: number;
  depth: DepthLevel[];
  meta?: InstrumentMeta | null;
  source: string;
}

export interface ChainLeg {
  instrument: InstrumentRef;
  lastPrice: number;
  bidPrice: number;
  askPrice: number;
  bidQuantity: number;
  askQuantity: number;
  openInterest: number;
  volume: number;
  sourceIv: number;
}

export interface ChainRow {
  strike: number;
  call?: ChainLeg | null;
  put?: ChainLeg | null;
}

export interface OptionChainSnapshot {
  underlying: InstrumentRef;
  expiry: string;
  exchangeTimeMs: number;
  receivedTimeMs: number;
  seq: number;
  underlyingPrice: number;
  lotSize: number;
  rows: ChainRow[];
  source: string;
}

export interface MarketStatus {
  segment: Segment;
  state: string;
  timeMs: number;
}

export interface OptionQuote {
  instrument: InstrumentRef;
  meta: InstrumentMeta;
  exchangeTimeMs: number;
  receivedTimeMs: number;
  seq: number;
  underlyingPrice: number;
  price: number;
  bidPrice: number;
  askPrice: number;
  openInterest: number;
  volume: number;
  timeToExpiryYears: number;
  ivAvailable: boolean;
  iv: number;
  delta: number;
  gamma: number;
  theta: number;
  vega: number;
  rho: number;
  gex: number;
}

export interface Bar {
  instrumentId: string;
  minuteStartMs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  openInterest: number;
  tickCount: number;
  openTimeMs: number;
  closeTimeMs: number;
  volumeCumStart: number;
  volumeCumEnd: number;
  final: boolean;
}

export interface GexStrike {
  strike: number;
  callGex: number;
  putGex: number;
}

export interface GammaExposure {
  underlyingId: string;
  expiry: string;
  timeMs: number;
  spot: number;
  netGex: number;
  callGex: number;
  putGex: number;
  zeroGammaAvailable: boolean;
  zeroGammaLevel: number;
  strikes: GexStrike[];
}

/** A stretch of exchange time in which a shard may have missed ticks (proto IngestionGap). */
export interface IngestionGap {
  namespace: string;
  feed: string;
  shard: number;
  instrumentIds: string[];
  fromMs: number;
  toMs: number;
  detectedMs: number;
}

export type RawPayload =
  | { payload: 'tick'; tick: Tick }
  | { payload: 'chain'; chain: OptionChainSnapshot }
  | { payload: 'status'; status: MarketStatus }
  | { payload: 'gap'; gap: IngestionGap };
export type RawRecord = { schemaVersion: number } & RawPayload;

export type EnrichedPayload =
  | { payload: 'tick'; tick: Tick }
  | { payload: 'optionQuote'; optionQuote: OptionQuote }
  | { payload: 'bar'; bar: Bar }
  | { payload: 'gex'; gex: GammaExposure }
  | { payload: 'gap'; gap: IngestionGap };
export type EnrichedRecord = { schemaVersion: number } & EnrichedPayload;

export interface DeadLetter {
  schemaVersion: number;
  stage: 'ingestion' | 'processor' | 'storage';
  reason: string;
  source: string;
  instrumentId: string;
  payload: Buffer;
  timeMs: number;
  originTopic: string;
  originPartition: number;
  originOffset: string;
}

// gRPC messages

export type Snapshot = { instrumentId: string; timeMs: number } & (
  | { payload: 'tick'; tick: Tick }
  | { payload: 'optionQuote'; optionQuote: OptionQuote }
);

export interface ShardStatus {
  feed: string;
  namespace: string;
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

export interface OptionChain {
  underlyingId: string;
  expiry: string;
  spot: number;
  quotes: OptionQuote[];
  gex?: GammaExposure | null;
}

export interface PublishTicksResponse {
  accepted: number;
  rejected: number;
  rejections: { index: number; reason: string }[];
}
