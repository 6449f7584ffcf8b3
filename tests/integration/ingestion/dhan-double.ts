// A test double of Dhan's v2 APIs on 127.0.0.1: the live-feed WebSocket (checks the connect query
// and every subscribe JSON, then plays a scripted list of binary frames) and the option-chain REST
// endpoints with Dhan's limit of one request per 3 s (HTTP 429 when exceeded). Like Dhan, it holds
// at most 5 connections per client id: a 6th gets a disconnect packet (code 50, reason 805) and is
// closed; connections per client id (open, most at once, refused) and every REST request's arrival
// time are recorded.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import { encodeDisconnect } from './dhan-encoder.ts';

/** Dhan's connection limit per client id, and the disconnect reason it answers a 6th with. */
export const MAX_CONNECTIONS_PER_CLIENT = 5;
export const TOO_MANY_CONNECTIONS = 805;

/** One client id's WebSocket connections. */
export interface ClientConnections {
  open: number;
  /** Most open at once. */
  max: number;
  /** Refused with disconnect 805 (over the limit). */
  refused: number;
}

export interface DoubleOptions {
  clientId: string;
  token: string;
  /** Frames to send once all expected instruments are subscribed. */
  frames: () => Buffer[];
  expectedInstruments: number;
  /** Close the connection after the frames (as Dhan does after a disconnect packet). */
  closeAfterFrames?: boolean;
  chain?: { expiries: string[]; body: (expiry: string) => unknown };
  /** Stream a packet every `everyMs` for each instrument a connection has subscribed (and not unsubscribed). */
  stream?: {
    everyMs: number;
    packet: (instrument: FeedInstrument, spot: (id: string) => number | undefined) => Buffer | undefined;
  };
  /** Listen on this port (0: any free port). */
  port?: number;
  /** Served at GET /api-scrip-master.csv, as Dhan publishes its instrument master. */
  scripMaster?: string;
}

export interface FeedInstrument {
  ExchangeSegment: string;
  SecurityId: string;
}

/** A subscribe (15/17/21) or unsubscribe (16/18/22) request as received. */
export interface FeedRequest {
  timeMs: number;
  connection: number;
  code: number;
  instruments: FeedInstrument[];
}

/** A streamed packet: for which instrument, when it was sent, its bytes. */
export interface StreamedPacket {
  id: string;
  sentMs: number;
  bytes: Buffer;
}

const SUBSCRIBE_CODES = [15, 17, 21];
const UNSUBSCRIBE_CODES = [16, 18, 22];

/**
 * A scrip master CSV (Dhan's api-scrip-master.csv columns) holding an index and its option
 * contracts: every strike `from`..`to` by `step` for each expiry, CE and PE, ids from `firstId` up.
 */
export function scripMasterCsv(o: {
  symbol: string;
  securityId: string;
  expiries: string[];
  from: number;
  to: number;
  step: number;
  lotSize: number;
  firstId: number;
}): { csv: string; contracts: { securityId: string; expiry: string; strike: number; type: 'CE' | 'PE' }[] } {
  const lines = [
    'SEM_EXM_EXCH_ID,SEM_SEGMENT,SEM_SMST_SECURITY_ID,SEM_INSTRUMENT_NAME,SEM_EXPIRY_CODE,SEM_TRADING_SYMBOL,SEM_LOT_UNITS,SEM_CUSTOM_SYMBOL,SEM_EXPIRY_DATE,SEM_STRIKE_PRICE,SEM_OPTION_TYPE,SEM_TICK_SIZE,SEM_EXPIRY_FLAG',
    `NSE,I,${o.securityId},INDEX,0,${o.symbol},1,${o.symbol},,,,0.05,`,
  ];
  const contracts: { securityId: string; expiry: string; strike: number; type: 'CE' | 'PE' }[] = [];
  let id = o.firstId;
  for (const expiry of o.expiries) {
    for (let k = o.from; k <= o.to; k += o.step) {
      for (const type of ['CE', 'PE'] as const) {
        const securityId = String(id++);
        contracts.push({ securityId, expiry, strike: k, type });
        lines.push(
          `NSE,D,${securityId},OPTIDX,0,${o.symbol}-${expiry}-${k}-${type},${o.lotSize},${o.symbol} ${expiry} ${k} ${type},${expiry} 14:30:00,${k}.00000,${type},0.0500,W`,
        );
      }
    }
  }
  return { csv: `${lines.join('\n')}\n`, contracts };
}

export interface DhanDouble {
  feedUrl: string;
  apiUrl: string;
  subscribeErrors: string[];
  subscribed: { ExchangeSegment: string; SecurityId: string }[];
  /** Every REST request, with the time it arrived (ms). */
  restCalls: { path: string; status: number; body: unknown; timeMs: number }[];
  /** WebSocket connections of a client id (zeros if it never connected). */
  clientConnections(clientId: string): ClientConnections;
  /** Every subscribe and unsubscribe request, in order. */
  requests: FeedRequest[];
  /** Instruments unsubscribed (16/18/22), in order. */
  unsubscribed: FeedInstrument[];
  /** Packets streamed for subscribed instruments (opts.stream). */
  streamed: StreamedPacket[];
  /** Moves an instrument's spot ("SEGMENT:securityId"), which the stream's packet function reads. */
  setSpot(id: string, price: number): void;
  /** WebSocket connections accepted so far. */
  connections: () => number;
  close(): Promise<void>;
}

export async function startDhanDouble(opts: DoubleOptions): Promise<DhanDouble> {
  const subscribeErrors: string[] = [];
  const subscribed: DhanDouble['subscribed'] = [];
  const restCalls: DhanDouble['restCalls'] = [];
  const requests: FeedRequest[] = [];
  const unsubscribed: FeedInstrument[] = [];
  const streamed: StreamedPacket[] = [];
  const spots = new Map<string, number>();
  let lastRest = 0;
  let connections = 0;
  const clients = new Map<string, ClientConnections>();
  const clientOf = (id: string): ClientConnections => {
    let c = clients.get(id);
    if (!c) {
      c = { open: 0, max: 0, refused: 0 };
      clients.set(id, c);
    }
    return c;
  };

  const http: Server = createServer((req, res) => {
    let text = '';
    const arrived = Date.now();
    req.on('data', (d: Buffer) => {
      text += d.toString();
    });
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/api-scrip-master.csv' && opts.scripMaster !== undefined) {
        res.writeHead(200, { 'content-type': 'text/csv' });
        res.end(opts.scripMaster);
        return;
      }
      const reply = (status: number, body: unknown): void => {
        restCalls.push({ path: req.url ?? '', status, body: text ? JSON.parse(text) : null, timeMs: arrived });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['access-token'] !== opts.token || req.headers['client-id'] !== opts.clientId)
        return reply(401, { status: 'failure' });
      const now = Date.now();
      if (now - lastRest < 3000) return reply(429, { status: 'failure', remarks: 'Too many requests' });
      lastRest = now;
      const body = JSON.parse(text || '{}') as { Expiry?: string };
      if (req.url === '/optionchain/expirylist') return reply(200, { data: opts.chain?.expiries ?? [], status: 'success' });
      if (req.url === '/optionchain' && opts.chain && body.Expiry) return reply(200, opts.chain.body(body.Expiry));
      return reply(404, { status: 'failure' });
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ok =
      url.searchParams.get('version') === '2' &&
      url.searchParams.get('token') === opts.token &&
      url.searchParams.get('clientId') === opts.clientId &&
      url.searchParams.get('authType') === '2';
    if (!ok) {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const client = clientOf(new URL(req.url ?? '/', 'http://x').searchParams.get('clientId') ?? '');
    if (client.open >= MAX_CONNECTIONS_PER_CLIENT) {
      client.refused += 1;
      ws.send(encodeDisconnect({ segment: 'IDX_I', securityId: 0 }, TOO_MANY_CONNECTIONS), { binary: true });
      ws.close(1000, 'too many connections');
      return;
    }
    client.open += 1;
    client.max = Math.max(client.max, client.open);
    ws.on('close', () => {
      client.open -= 1;
    });
    connections += 1;
    const connection = connections;
    let count = 0;
    const live = new Map<string, FeedInstrument>();
    const stream = opts.stream;
    const timer = stream
      ? setInterval(() => {
          for (const [id, i] of live) {
            const bytes = stream.packet(i, (u) => spots.get(u));
            if (!bytes || ws.readyState !== ws.OPEN) continue;
            ws.send(bytes, { binary: true });
            streamed.push({ id, sentMs: Date.now(), bytes });
          }
        }, stream.everyMs)
      : undefined;
    ws.on('close', () => clearInterval(timer));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return subscribeErrors.push('binary request');
      let msg: {
        RequestCode?: number;
        InstrumentCount?: number;
        InstrumentList?: { ExchangeSegment: string; SecurityId: string }[];
      };
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return subscribeErrors.push('request is not JSON');
      }
      const code = msg.RequestCode ?? 0;
      if (![...SUBSCRIBE_CODES, ...UNSUBSCRIBE_CODES].includes(code)) subscribeErrors.push(`RequestCode ${msg.RequestCode}`);
      const list = msg.InstrumentList ?? [];
      if (list.length > 100) subscribeErrors.push('more than 100 instruments in one message');
      if (msg.InstrumentCount !== list.length) subscribeErrors.push('InstrumentCount differs from the list');
      requests.push({ timeMs: Date.now(), connection, code, instruments: list });
      const key = (i: FeedInstrument): string => `${i.ExchangeSegment}:${i.SecurityId}`;
      if (UNSUBSCRIBE_CODES.includes(code)) {
        for (const i of list) {
          if (!live.delete(key(i))) subscribeErrors.push(`unsubscribed ${key(i)}, which was not subscribed`);
          unsubscribed.push(i);
        }
        return;
      }
      for (const i of list) live.set(key(i), i);
      for (const i of list) {
        if (typeof i.SecurityId !== 'string' || typeof i.ExchangeSegment !== 'string')
          subscribeErrors.push('bad instrument entry');
        subscribed.push(i);
      }
      count += list.length;
      if (count === opts.expectedInstruments) {
        for (const f of opts.frames()) ws.send(f, { binary: true });
        if (opts.closeAfterFrames) ws.close(1000, 'disconnected by the server');
      }
    });
  });

  await new Promise<void>((resolve) => http.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const a = http.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    feedUrl: `ws://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${port}`,
    subscribeErrors,
    subscribed,
    restCalls,
    requests,
    unsubscribed,
    streamed,
    setSpot: (id, price) => {
      spots.set(id, price);
    },
    connections: () => connections,
    clientConnections: (id) => ({ ...clientOf(id) }),
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
