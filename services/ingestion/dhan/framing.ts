// Splits one WebSocket binary message of the Dhan live feed into packets (pure). Dhan sends one
// or more whole packets per message, so nothing is carried from one message to the next: bad
// bytes cost at most their own message, never the messages after it.
//
// A packet is delimited by its header's declared length. Bad bytes come in two kinds:
//   - delimited: an unknown code, a known code declaring more (oversized) or fewer (undersized)
//     bytes than its layout, or an unknown segment. Skipped by exactly the declared length.
//   - undelimited: fewer than 8 bytes left, a length below the header or past the message end, or
//     a truncated packet glued to the next one (its declared end lands inside the next packet).
//     Skipped up to where good packets resume.
// A message of good packets end to end is taken as it is, whatever their insides look like.
// Otherwise the split is the one that sends the fewest bytes to the DLQ (a dynamic programme over
// byte offsets), never taking as a packet a frame that swallows good packets starting inside it (a
// truncated packet glued to the next ones: see swallowsNext). Each bad stretch is one Malformed
// entry (one DLQ record) whose detail starts with its FramingFault.
// Ambiguous by nature: a truncated packet whose declared end falls exactly where later packets of
// its message end makes a message of good packets end to end, read as such.
import {
  type DecodedPacket,
  decodePacket,
  headerInstrumentId,
  type MalformedBytes,
  PACKET_SIZES,
  SEGMENT_BY_CODE,
} from './packet.ts';

/** Why bytes of a message were not a packet: the start of the DLQ detail. */
export type FramingFault =
  | 'truncated-header'
  | 'length-below-header'
  | 'length-past-end'
  | 'misframed'
  | 'unknown-code'
  | 'oversized'
  | 'undersized'
  | 'unknown-segment'
  | 'bad-layout';

const HEADER = 8;

interface Frame {
  code: number;
  length: number;
  segment: number;
  /** Bytes the packet spans by its declared length. */
  extent: number;
  /** Known code, length of its layout, known segment. */
  good: boolean;
}

/** The frame starting at `at` when its header can delimit it inside the message. */
function frameAt(msg: Buffer, at: number): Frame | undefined {
  if (msg.length - at < HEADER) return undefined;
  const code = msg.readUInt8(at);
  const length = msg.readUInt16LE(at + 1);
  const segment = msg.readUInt8(at + 3);
  const size = PACKET_SIZES[code];
  // Dhan's length is the whole packet; the payload size without the header is accepted too.
  const layout = size !== undefined && (length === size || length === size - HEADER);
  const extent = layout ? size : length;
  if (extent < HEADER || at + extent > msg.length) return undefined;
  return { code, length, segment, extent, good: layout && SEGMENT_BY_CODE[segment] !== undefined };
}

/**
 * A good packet at `at` whose end is the message end or another delimited header. A bare 8-byte
 * header (a market-status packet) does not count alone, as in chainEndsAt: 8 bytes of a price or
 * an id inside a good packet can look like one, followed by bytes that look like any header.
 */
function framedGood(msg: Buffer, at: number): boolean {
  const f = frameAt(msg, at);
  if (f?.good !== true) return false;
  const end = at + f.extent;
  if (end === msg.length) return f.extent > HEADER;
  const next = frameAt(msg, end);
  return next !== undefined && (f.extent > HEADER || (next.good && next.extent > HEADER));
}

/** Good packets from `from` that end exactly at `end`, one of them more than a bare 8-byte header. */
function chainEndsAt(msg: Buffer, from: number, end: number): boolean {
  let substantial = false;
  for (let at = from; at < end; ) {
    const f = frameAt(msg, at);
    if (!f?.good) return false;
    substantial ||= f.extent > HEADER;
    at += f.extent;
    if (at === end) return substantial;
  }
  return false;
}

/**
 * A truncated packet glued to the next ones: a good-looking frame with good packets starting
 * inside it that either end on a header where the frame's declared end is none, or run exactly to
 * its declared end. Never taken as a packet. (A market-status packet is only a header, so 8 bytes
 * of a price or an id can look like one: it does not count alone.)
 */
function swallowsNext(msg: Buffer, at: number, end: number): boolean {
  const endIsHeader = end === msg.length || frameAt(msg, end) !== undefined;
  for (let inner = at + 1; inner < end; inner++) {
    if (endIsHeader ? chainEndsAt(msg, inner, end) : framedGood(msg, inner)) return true;
  }
  return false;
}

/** A message of good packets end to end, the usual case: taken as it is, whatever is inside them. */
function clean(msg: Buffer): Uint8Array | undefined {
  const take = new Uint8Array(msg.length);
  for (let at = 0; at < msg.length; ) {
    const f = frameAt(msg, at);
    if (!f?.good) return undefined;
    take[at] = 1;
    at += f.extent;
  }
  return take;
}

/**
 * Whether to take the frame at each offset rather than skip the byte: the split with the fewest
 * DLQ bytes. On a tie a good packet loses (a truncated packet must not swallow the start of the
 * next) and a bad frame wins (it is skipped by exactly its length).
 */
function plan(msg: Buffer): Uint8Array {
  const n = msg.length;
  const cost = new Float64Array(n + 1);
  const take = new Uint8Array(n);
  for (let at = n - 1; at >= 0; at--) {
    const skip = 1 + (cost[at + 1] ?? 0);
    const f = frameAt(msg, at);
    const usable = f !== undefined && !(f.good && swallowsNext(msg, at, at + f.extent));
    const framed = f && usable ? (f.good ? 0 : f.extent) + (cost[at + f.extent] ?? 0) : Number.POSITIVE_INFINITY;
    take[at] = f && usable && (f.good ? framed < skip : framed <= skip) ? 1 : 0;
    cost[at] = Math.min(skip, framed);
  }
  return take;
}

function undelimitedFault(msg: Buffer, at: number): [FramingFault, string] {
  const left = msg.length - at;
  if (left < HEADER) return ['truncated-header', `${left} bytes left at the end of the message, the header is 8`];
  const code = msg.readUInt8(at);
  const length = msg.readUInt16LE(at + 1);
  const size = PACKET_SIZES[code];
  const extent = size !== undefined && length === size - HEADER ? size : length;
  if (extent < HEADER) return ['length-below-header', `code ${code} packet declares length ${length}`];
  if (extent > left) return ['length-past-end', `code ${code} packet declares ${extent} bytes, ${left} left in the message`];
  return ['misframed', `code ${code} packet of ${extent} bytes overlaps the next packet (truncated?)`];
}

function delimitedFault(f: Frame): [FramingFault, string] {
  const size = PACKET_SIZES[f.code];
  if (size === undefined) return ['unknown-code', `unknown response code ${f.code}, ${f.extent} bytes skipped`];
  if (f.extent > size) return ['oversized', `code ${f.code} packet declares length ${f.length}, the layout is ${size} bytes`];
  if (f.extent < size) return ['undersized', `code ${f.code} packet declares length ${f.length}, the layout is ${size} bytes`];
  return ['unknown-segment', `unknown exchange segment ${f.segment} in a code ${f.code} packet`];
}

function malformed(msg: Buffer, from: number, to: number, [fault, text]: [FramingFault, string]): MalformedBytes {
  const id = to - from >= HEADER ? headerInstrumentId(msg.readUInt8(from + 3), msg.readUInt32LE(from + 4)) : '';
  return { detail: `${fault}: ${text}`, bytes: Buffer.from(msg.subarray(from, to)), instrumentId: id };
}

/** Every packet of one WebSocket message, in order, and the bytes that were not packets. Never throws. */
export function splitMessage(msg: Buffer): { packets: DecodedPacket[]; malformed: MalformedBytes[] } {
  const take = clean(msg) ?? plan(msg);
  const packets: DecodedPacket[] = [];
  const bad: MalformedBytes[] = [];
  let at = 0;
  // An undelimited stretch runs until a good packet: the bad frames right after it join it.
  let stretch: { from: number; fault: [FramingFault, string] } | undefined;
  const flush = (to: number): void => {
    if (stretch) bad.push(malformed(msg, stretch.from, to, stretch.fault));
    stretch = undefined;
  };
  while (at < msg.length) {
    const f = take[at] ? frameAt(msg, at) : undefined;
    if (f === undefined || (!f.good && stretch)) {
      stretch ??= { from: at, fault: undelimitedFault(msg, at) };
      at = f ? at + f.extent : at + 1;
      continue;
    }
    flush(at);
    const end = at + f.extent;
    if (!f.good) bad.push(malformed(msg, at, end, delimitedFault(f)));
    else {
      const bytes = Buffer.from(msg.subarray(at, end));
      try {
        packets.push({ packet: decodePacket(bytes), bytes });
      } catch (err) {
        bad.push(malformed(msg, at, end, ['bad-layout', (err as Error).message]));
      }
    }
    at = end;
  }
  flush(msg.length);
  return { packets, malformed: bad };
}
