// Replays a recording (JSON Lines or CSV, see FORMAT.md) at recorded speed, N× faster, or as fast
// as possible (speed 0). Malformed lines go to the DLQ and the replay goes on.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { SeqClock } from '../seq.ts';
import { type ConnectionState, type Sink, type Source, sleepUnlessAborted } from '../source.ts';
import { csvHeader, formatOf, parseLine, type ReplayFormat } from './parse.ts';

export interface ReplayOptions {
  path: string;
  format?: ReplayFormat;
  /** 1 = recorded speed, N = N× faster, 0 = as fast as possible. */
  speed: number;
}

export class ReplaySource implements Source {
  readonly name = 'replay' as const;
  private readonly opts: ReplayOptions;
  private current: ConnectionState = 'STARTING';
  lines = 0;

  constructor(opts: ReplayOptions) {
    this.opts = opts;
  }

  state(): ConnectionState {
    return this.current;
  }

  async run(sink: Sink, signal: AbortSignal): Promise<void> {
    const format = formatOf(this.opts.path, this.opts.format);
    const input = createReadStream(this.opts.path, { encoding: 'utf8' });
    const opened = new Promise<void>((resolve, reject) => {
      input.once('open', () => resolve());
      input.once('error', (err) => reject(new Error(`replay: cannot read ${this.opts.path}: ${err.message}`)));
    });
    await opened;
    this.current = 'RUNNING';
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    const seq = new SeqClock();
    let header: string[] | undefined;
    let firstTime: number | undefined;
    const wallStart = Date.now();
    try {
      for await (const line of lines) {
        if (signal.aborted) break;
        this.lines += 1;
        if (format === 'csv' && header === undefined) {
          if (line.trim() === '' || line.startsWith('#')) continue;
          header = csvHeader(line);
          continue;
        }
        const parsed = parseLine(line, format, header);
        if (parsed.kind === 'skip') continue;
        if (!sink.hasRoom()) await sink.waitForRoom();
        if (parsed.kind === 'error') {
          sink.emit({
            kind: 'reject',
            source: 'replay',
            reason: 'malformed',
            detail: `${this.opts.path}:${this.lines}: ${parsed.detail}`,
            instrumentId: parsed.instrumentId,
            payload: Buffer.from(line, 'utf8'),
          });
          continue;
        }
        if (this.opts.speed > 0) {
          firstTime ??= parsed.timeMs;
          const due = wallStart + (parsed.timeMs - firstTime) / this.opts.speed;
          const wait = due - Date.now();
          // A recorded gap can be hours long (a session break): stopping must not wait for it.
          if (wait > 1) await sleepUnlessAborted(wait, signal);
          if (signal.aborted) break;
        }
        if (parsed.record.payload === 'tick') parsed.record.tick.seq = seq.next(parsed.key, parsed.timeMs);
        sink.emit({ kind: 'record', source: 'replay', key: parsed.key, record: parsed.record, raw: Buffer.from(line, 'utf8') });
      }
    } finally {
      lines.close();
      input.destroy();
    }
    this.current = signal.aborted ? 'STOPPED' : 'FINISHED';
  }
}
