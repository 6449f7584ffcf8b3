// The receiving side of the gateway bench, a process of its own so that the clients never share the
// gateway's (or the publisher's) event loop. Forked by gateway.bench.ts and driven over IPC:
//   node tests/bench/gateway/receivers.ts ws <url> <clients> <instruments per client> <id,id,…>
//     opens <clients> WebSocket connections, each subscribing its own window of the ids
//   node tests/bench/gateway/receivers.ts redis <redis url> <id,id,…>
//     the reference: one plain ioredis subscriber on the same live:<id> channels
// Every quote carries its publish time (epoch µs) in tick.seq; latency = arrival − publish, on the
// same machine clock (performance.timeOrigin + performance.now() on both sides).
// IPC: parent → {op:'measure', fromUs} | {op:'report'}; child → {op:'ready', …} | {op:'measured'} | {op:'report', …}.
import { createHistogram } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import type { Snapshot } from '../../../services/core/messages.ts';
import { codec } from '../../../services/core/proto.ts';

export interface ReceiverReport {
  op: 'report';
  /** Quotes published at or after `fromUs` that arrived. */
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Connections the server closed (a 4008 cut, for instance), with their close codes. */
  closed: Record<string, number>;
  errors: number;
  /** This process's CPU time while measuring, seconds (user + system). */
  cpuSeconds: number;
}

export interface ReceiverReady {
  op: 'ready';
  connections: number;
  connectMs: number;
}

const nowUs = (): number => (performance.timeOrigin + performance.now()) * 1000;
const histogram = createHistogram({ lowest: 1, highest: 600_000_000, figures: 3 });
let fromUs = Number.POSITIVE_INFINITY;
let received = 0;
let errors = 0;
const closed: Record<string, number> = {};
let cpuAtMeasure = process.cpuUsage();

function record(publishedUs: number): void {
  if (!(publishedUs >= fromUs)) return;
  received++;
  histogram.record(Math.max(1, Math.round(nowUs() - publishedUs)));
}

const send = (msg: object): void => {
  process.send?.(msg);
};

process.on('message', (msg: { op: string; fromUs?: number }) => {
  if (msg.op === 'measure') {
    histogram.reset();
    received = 0;
    fromUs = msg.fromUs ?? nowUs();
    cpuAtMeasure = process.cpuUsage();
    send({ op: 'measured' });
  } else if (msg.op === 'report') {
    const cpu = process.cpuUsage(cpuAtMeasure);
    const ms = (us: number): number => us / 1000;
    const report: ReceiverReport = {
      op: 'report',
      received,
      p50Ms: received > 0 ? ms(histogram.percentile(50)) : Number.NaN,
      p99Ms: received > 0 ? ms(histogram.percentile(99)) : Number.NaN,
      maxMs: received > 0 ? ms(histogram.max) : Number.NaN,
      closed,
      errors,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    send(report);
  }
});
process.on('disconnect', () => process.exit(0));

/** tick.seq of a JSON quote without parsing the whole message: `"seq":<digits>` occurs once. */
function seqOf(text: string): number {
  const at = text.indexOf('"seq":');
  if (at < 0) return Number.NaN;
  let n = 0;
  for (let i = at + 6; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

async function runWs(url: string, clients: number, perClient: number, ids: string[]): Promise<void> {
  const t0 = performance.now();
  const open = (i: number): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const mine = Array.from({ length: perClient }, (_, k) => ids[(i * perClient + k) % ids.length] as string);
      const timer = setTimeout(() => reject(new Error(`client ${i}: not subscribed after 60 s`)), 60_000);
      ws.on('error', (err) => {
        errors++;
        clearTimeout(timer);
        reject(new Error(`client ${i}: ${err.message}`));
      });
      ws.on('close', (code) => {
        closed[code] = (closed[code] ?? 0) + 1;
      });
      ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', instruments: mine })));
      ws.on('message', (data: Buffer, binary: boolean) => {
        if (binary) return;
        const text = data.toString();
        if (text.startsWith('{"type":"quote"')) {
          record(seqOf(text));
        } else if (text.startsWith('{"type":"subscribed"')) {
          clearTimeout(timer);
          resolve(ws);
        } else if (text.startsWith('{"type":"error"')) {
          errors++;
          reject(new Error(`client ${i}: ${text}`));
        }
      });
    });
  // 50 handshakes at a time: 1,000 at once would measure the listen backlog, not the fan-out.
  const sockets: WebSocket[] = [];
  for (let i = 0; i < clients; i += 50) {
    const batch = Array.from({ length: Math.min(50, clients - i) }, (_, k) => open(i + k));
    sockets.push(...(await Promise.all(batch)));
  }
  const ready: ReceiverReady = { op: 'ready', connections: sockets.length, connectMs: performance.now() - t0 };
  send(ready);
}

async function runRedis(url: string, ids: string[]): Promise<void> {
  const t0 = performance.now();
  const snapshot = codec<Snapshot>('Snapshot');
  const sub = new Redis(url, { maxRetriesPerRequest: 1 });
  sub.on('error', () => {
    errors++;
  });
  sub.on('messageBuffer', (_channel: Buffer, bytes: Buffer) => {
    const s = snapshot.decode(bytes);
    record(s.payload === 'tick' ? s.tick.seq : Number.NaN);
  });
  await sub.subscribe(...ids.map((id) => `live:${id}`));
  const ready: ReceiverReady = { op: 'ready', connections: 1, connectMs: performance.now() - t0 };
  send(ready);
}

const [mode, target, ...rest] = process.argv.slice(2);
try {
  if (mode === 'ws' && target) {
    const [clients, perClient, ids] = rest;
    await runWs(target, Number(clients), Number(perClient), (ids ?? '').split(','));
  } else if (mode === 'redis' && target) {
    await runRedis(target, (rest[0] ?? '').split(','));
  } else {
    process.stderr.write('usage: receivers.ts ws <url> <clients> <per client> <ids> | redis <url> <ids>\n');
    process.exit(2);
  }
} catch (err) {
  process.stderr.write(`receivers (${mode}): ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
