// The gateway's own REST and WebSocket API as the console uses it (no other data source): typed
// GETs that turn problem details into ApiError, and one WebSocket that carries every live quote.
import type { Problem } from './types.ts';
import { type LiveMessage, parseLiveMessage } from './view.ts';

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

export interface ConsoleConfig {
  /** spec.auth is on: every API call needs a bearer token. */
  auth: boolean;
}

export class Api {
  token: string | undefined;

  private headers(): HeadersInit {
    return this.token ? { authorization: `Bearer ${this.token}` } : {};
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(path, { headers: this.headers() });
    if (!res.ok) throw new ApiError(await problemOf(res));
    return (await res.json()) as T;
  }

  /**
   * Checks the token for what the console needs: scope read (a REST call) and scope stream (the
   * SSE route's answer, read up to its status line only). Throws ApiError with the API's 401/403.
   */
  async checkToken(): Promise<void> {
    await this.get('/v1/status');
    const res = await fetch('/v1/stream?instruments=IDX_I:0', { headers: this.headers() });
    if (!res.ok) throw new ApiError(await problemOf(res));
    await res.body?.cancel();
  }

  liveUrl(): string {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const q = this.token ? `?access_token=${encodeURIComponent(this.token)}` : '';
    return `${scheme}://${location.host}/v1/ws${q}`;
  }
}

async function problemOf(res: Response): Promise<Problem> {
  try {
    const body = (await res.json()) as Partial<Problem>;
    return { status: res.status, ...body };
  } catch {
    return { status: res.status, detail: res.statusText || `HTTP ${res.status}` };
  }
}

type QuoteListener = (msg: Extract<LiveMessage, { type: 'quote' }>) => void;

/**
 * One WebSocket for the whole page: panels add and remove instruments with their listeners; the
 * socket subscribes the union, reconnects with back-off (re-subscribing) and reports its state.
 */
export class Live {
  private readonly api: Api;
  private readonly onState: (state: 'connecting' | 'live' | 'offline', why?: string) => void;
  private readonly listeners = new Map<string, Set<QuoteListener>>();
  private socket: WebSocket | undefined;
  private retryMs = 500;
  private stopped = false;

  constructor(api: Api, onState: (state: 'connecting' | 'live' | 'offline', why?: string) => void) {
    this.api = api;
    this.onState = onState;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'console closed');
  }

  add(ids: readonly string[], listener: QuoteListener): void {
    const fresh: string[] = [];
    for (const id of ids) {
      let set = this.listeners.get(id);
      if (!set) {
        set = new Set();
        this.listeners.set(id, set);
        fresh.push(id);
      }
      set.add(listener);
    }
    if (fresh.length > 0) this.send({ op: 'subscribe', instruments: fresh });
  }

  remove(ids: readonly string[], listener: QuoteListener): void {
    const gone: string[] = [];
    for (const id of ids) {
      const set = this.listeners.get(id);
      if (!set?.delete(listener) || set.size > 0) continue;
      this.listeners.delete(id);
      gone.push(id);
    }
    if (gone.length > 0) this.send({ op: 'unsubscribe', instruments: gone });
  }

  private send(msg: { op: 'subscribe' | 'unsubscribe'; instruments: string[] }): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  private open(): void {
    this.onState('connecting');
    const ws = new WebSocket(this.api.liveUrl());
    this.socket = ws;
    ws.onopen = () => {
      this.retryMs = 500;
      this.onState('live');
      const ids = [...this.listeners.keys()];
      // The gateway takes any number of ids a message, up to its per-connection limit.
      if (ids.length > 0) this.send({ op: 'subscribe', instruments: ids });
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      const msg = parseLiveMessage(ev.data);
      if (msg?.type === 'quote') for (const l of this.listeners.get(msg.instrument) ?? []) l(msg);
      else if (msg?.type === 'error') this.onState('live', msg.problem.detail);
    };
    ws.onclose = (ev) => {
      if (this.socket !== ws) return;
      this.socket = undefined;
      if (this.stopped) return;
      this.onState('offline', ev.reason || `connection closed (${ev.code})`);
      setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }
}
