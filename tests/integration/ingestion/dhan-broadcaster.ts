// A continuous Dhan live-feed double, like an exchange: every connection that has subscribed the
// expected instruments receives the same numbered quote packets, and every packet sent is logged
// (number, instrument, exchange time, volume, how many connections got it). Packet n carries
// cumulative volume n + 1, so the content of every packet differs and a stored tick names the
// packet it came from. Option-chain REST is not served (404). Listens on the host it is given (the
// pod network's gateway in e2e).
import { createServer, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { IST_OFFSET_SECONDS } from '../../../services/core/market-time.ts';
import { encodeQuote } from './dhan-encoder.ts';

export interface BroadcastInstrument {
  segment: string;
  securityId: number;
}

export interface BroadcasterOptions {
  host: string;
  clientId: string;
  token: string;
  instruments: readonly BroadcastInstrument[];
  packetsPerSecond: number;
}

export interface SentPacket {
  n: number;
  instrumentId: string;
  /** UTC ms of the packet's LTT (whole seconds, as Dhan's). */
  exchangeTimeMs: number;
  volume: number;
  sentAtMs: number;
  /** Subscribed connections it was sent to (0: nobody listened). */
  connections: number;
}

export interface DhanBroadcaster {
  feedUrl: string;
  apiUrl: string;
  sent: SentPacket[];
  /** Connections accepted so far, and the most that were open at once. */
  accepted: () => number;
  maxOpen: () => number;
  /** Subscribed connections now. */
  live: () => number;
  /** Accepts another access token too (a rotation: the old one stays valid, as Dhan's do until they expire). */
  acceptToken: (token: string) => void;
  /** Connections accepted with this access token. */
  acceptedWith: (token: string) => number;
  close(): Promise<void>;
}

const TICK_MS = 50;

export async function startDhanBroadcaster(opts: BroadcasterOptions): Promise<DhanBroadcaster> {
  const sent: SentPacket[] = [];
  const live = new Set<WebSocket>();
  const expected = new Set(opts.instruments.map((i) => `${i.segment}:${i.securityId}`));
  const tokens = new Map<string, number>([[opts.token, 0]]);
  let accepted = 0;
  let open = 0;
  let maxOpen = 0;
  let n = 0;

  const http: Server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"status":"failure"}');
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = url.searchParams.get('token') ?? '';
    const ok =
      url.searchParams.get('version') === '2' &&
      tokens.has(token) &&
      url.searchParams.get('clientId') === opts.clientId &&
      url.searchParams.get('authType') === '2';
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    tokens.set(token, (tokens.get(token) ?? 0) + 1);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  wss.on('connection', (ws: WebSocket) => {
    accepted += 1;
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    const subscribed = new Set<string>();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(data.toString()) as { InstrumentList?: { ExchangeSegment: string; SecurityId: string }[] };
      for (const i of msg.InstrumentList ?? []) subscribed.add(`${i.ExchangeSegment}:${i.SecurityId}`);
      if ([...expected].every((id) => subscribed.has(id))) live.add(ws);
    });
    ws.on('close', () => {
      open -= 1;
      live.delete(ws);
    });
    ws.on('error', () => undefined);
  });

  const perTick = Math.max(1, Math.round((opts.packetsPerSecond * TICK_MS) / 1000));
  const timer = setInterval(() => {
    const now = Date.now();
    const ltt = Math.floor(now / 1000) + IST_OFFSET_SECONDS;
    for (let k = 0; k < perTick; k++) {
      const inst = opts.instruments[n % opts.instruments.length] as BroadcastInstrument;
      const volume = n + 1;
      const packet = encodeQuote(inst, {
        ltp: 100 + (n % 200) / 20,
        ltq: 1,
        ltt,
        atp: 100,
        volume,
        totalSell: 10,
        totalBuy: 10,
        open: 99,
        close: 98,
        high: 120,
        low: 90,
      });
      for (const ws of live) ws.send(packet, { binary: true });
      sent.push({
        n,
        instrumentId: `${inst.segment}:${inst.securityId}`,
        exchangeTimeMs: (ltt - IST_OFFSET_SECONDS) * 1000,
        volume,
        sentAtMs: now,
        connections: live.size,
      });
      n += 1;
    }
  }, TICK_MS);

  await new Promise<void>((resolve) => http.listen(0, opts.host, resolve));
  const a = http.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    feedUrl: `ws://${opts.host}:${port}`,
    apiUrl: `http://${opts.host}:${port}`,
    sent,
    accepted: () => accepted,
    maxOpen: () => maxOpen,
    live: () => live.size,
    acceptToken: (token) => {
      if (!tokens.has(token)) tokens.set(token, 0);
    },
    acceptedWith: (token) => tokens.get(token) ?? 0,
    close: async () => {
      clearInterval(timer);
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
