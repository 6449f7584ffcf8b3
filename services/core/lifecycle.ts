// Process lifecycle: ordered shutdown on SIGTERM/SIGINT, one clear line and a non-zero exit on a
// fatal error.
import type { Logger } from './log.ts';

type Stopper = { name: string; stop: () => Promise<void> | void };

export class Lifecycle {
  private readonly stoppers: Stopper[] = [];
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;
  constructor(log: Logger) {
    this.log = log;
  }

  /** Registers something to stop; stopped in reverse order of registration. */
  onStop(name: string, stop: () => Promise<void> | void): void {
    this.stoppers.push({ name, stop });
  }

  /** Installs signal handlers; resolves when the process has been asked to stop and has stopped. */
  handleSignals(): Promise<void> {
    return new Promise((resolve) => {
      const handler = (signal: NodeJS.Signals): void => {
        this.log.info({ signal }, 'stopping');
        void this.stop().then(resolve);
      };
      process.once('SIGTERM', handler);
      process.once('SIGINT', handler);
    });
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const s of [...this.stoppers].reverse()) {
        try {
          await s.stop();
        } catch (err) {
          this.log.error({ err, part: s.name }, 'error while stopping');
        }
      }
    })();
    return this.stopping;
  }
}

/** Prints one line naming what failed and exits non-zero. */
export function fatal(what: string, err: unknown, code = 1): never {
  const reason = err instanceof Error ? err.message : String(err);
  process.stderr.write(`stockify: ${what}: ${reason}\n`);
  process.exit(code);
}

/**
 * Once everything is stopped the process should end by itself. kafkajs can leave a socket open when
 * its disconnect races a reconnect in progress (seen after a broker outage), which would keep a
 * finished process alive forever; this unref'd timer only fires if something like that lingers.
 */
export function exitEvenIfHandlesLinger(log: Logger, graceMs = 5_000): void {
  setTimeout(() => {
    log.warn(`stopped, but open handles kept the process alive for ${graceMs / 1000} s; exiting`);
    process.exit();
  }, graceMs).unref();
}
