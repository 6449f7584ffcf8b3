// The JSON requests of Dhan's v2 live feed (pure): subscribe (15 ticker, 17 quote, 21 full) and
// unsubscribe (16, 18, 22), each message naming at most 100 instruments.
import type { Segment } from '../../core/messages.ts';

export const REQUEST_CODES = { ticker: 15, quote: 17, full: 21 } as const;
export const UNSUBSCRIBE_CODES = { ticker: 16, quote: 18, full: 22 } as const;
export const MAX_PER_MESSAGE = 100;

export type FeedMode = keyof typeof REQUEST_CODES;

interface FeedInstrument {
  segment: Segment;
  securityId: string;
}

function requests(code: number, instruments: readonly FeedInstrument[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < instruments.length; i += MAX_PER_MESSAGE) {
    const group = instruments.slice(i, i + MAX_PER_MESSAGE);
    out.push(
      JSON.stringify({
        RequestCode: code,
        InstrumentCount: group.length,
        InstrumentList: group.map((x) => ({ ExchangeSegment: x.segment, SecurityId: x.securityId })),
      }),
    );
  }
  return out;
}

/** The subscribe messages for instruments in a feed mode (≤100 each). */
export function subscribeMessages(mode: FeedMode, instruments: readonly FeedInstrument[]): string[] {
  return requests(REQUEST_CODES[mode], instruments);
}

/** The unsubscribe messages for instruments subscribed in a feed mode (≤100 each). */
export function unsubscribeMessages(mode: FeedMode, instruments: readonly FeedInstrument[]): string[] {
  return requests(UNSUBSCRIBE_CODES[mode], instruments);
}
