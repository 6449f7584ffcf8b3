// A test double of Dhan's v2 APIs on 127.0.0.1: the live-feed WebSocket (checks the connect query
// and every subscribe JSON, then plays a scripted list of binary frames) and the option-chain REST
// endpoints with Dhan's limit of one request per 3 s (HTTP 429 when exceeded).
import { createServer, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

export interface DoubleOptions {
  clientId: string;
  token: string;
  /** Frames to send once all expected instruments are subscribed. */
  frames: () => Buffer[];
  expectedInstruments: number;
  /** Close the connection after the frames (as Dhan does after a disconnect packet). */
  closeAfterFrames?: boolean;
  chain?: { expiries: string[]; body: (expiry: string) => unknown };
}

export interface DhanDouble {
  feedUrl: string;
  apiUrl: string;
  subscribeErrors: string[];
  subscribed: { ExchangeSegment: string; SecurityId: string }[];
  restCalls: { path: string; status: number; body: unknown }[];
  /** WebSocket connections accepted so far. */
  connections: () => number;
  close(): Promise<void>;
}

export async function startDhanDouble(opts: DoubleOptions): Promise<DhanDouble> {
  const subscribeErrors: string[] = [];
  const subscribed: DhanDouble['subscribed'] = [];
  const restCalls: DhanDouble['restCalls'] = [];
  let lastRest = 0;
  let connections = 0;

  const http: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => {
      text += d.toString();
    });
    req.on('end', () => {
      const reply = (status: number, body: unknown): void => {
        restCalls.push({ path: req.url ?? '', status, body: text ? JSON.parse(text) : null });
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
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });
  wss.on('connection', (ws: WebSocket) => {
    connections += 1;
    let count = 0;
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
      if (![15, 17, 21].includes(msg.RequestCode ?? 0)) subscribeErrors.push(`RequestCode ${msg.RequestCode}`);
      const list = msg.InstrumentList ?? [];
      if (list.length > 100) subscribeErrors.push('more than 100 instruments in one message');
      if (msg.InstrumentCount !== list.length) subscribeErrors.push('InstrumentCount differs from the list');
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

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const a = http.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return {
    feedUrl: `ws://127.0.0.1:${port}`,
    apiUrl: `http://127.0.0.1:${port}`,
    subscribeErrors,
    subscribed,
    restCalls,
    connections: () => connections,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
