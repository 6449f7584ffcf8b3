// Runs local processes like a Deployment runs pods: output to a log file, a process that dies is
// restarted with exponential back-off (CrashLoopBackOff, with shorter delays), and stop() ends them
// all the way Kubernetes does — SIGTERM, a grace period, then SIGKILL.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Backoff, type BackoffPolicy } from '../core/backoff.ts';

export interface ChildSpec {
  name: string;
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  /** stdout and stderr are appended here. */
  logFile: string;
}

export type ChildPhase = 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ChildStatus {
  name: string;
  phase: ChildPhase;
  pid?: number;
  /** Restarts after unexpected exits. */
  restarts: number;
  /** How the last unexpected exit happened ("exit 1", "SIGKILL"). */
  lastExit?: string;
  startedAtMs?: number;
  restartAtMs?: number;
}

/** The back-off between restarts, and how long a run must last to count as healthy again. */
export interface RestartPolicy extends BackoffPolicy {
  /** A run at least this long resets the back-off. */
  resetAfterMs: number;
}

/** 1 s doubling to 30 s, no jitter (one local process, nothing to spread out); reset after 60 s up. */
export const RESTART_BACKOFF: RestartPolicy = { initialMs: 1_000, maxMs: 30_000, jitter: 'none', resetAfterMs: 60_000 };

export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? signal : `exit ${code ?? '?'}`;
}

interface Slot {
  spec: ChildSpec;
  status: ChildStatus;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** Delays of this process's restarts in a row. */
  backoff: Backoff;
  timer?: NodeJS.Timeout;
}

export interface SupervisorOptions {
  backoff?: RestartPolicy;
  /** Called on every start, exit and restart (for logs and tests). */
  onEvent?: (event: { name: string; kind: 'start' | 'exit' | 'error'; detail: string }) => void;
}

export class Supervisor {
  private readonly slots: Slot[];
  private readonly policy: RestartPolicy;
  private readonly onEvent: SupervisorOptions['onEvent'];
  private stopping = false;

  constructor(specs: readonly ChildSpec[], opts: SupervisorOptions = {}) {
    this.policy = opts.backoff ?? RESTART_BACKOFF;
    this.slots = specs.map((spec) => ({
      spec,
      status: { name: spec.name, phase: 'stopped', restarts: 0 },
      backoff: new Backoff(this.policy),
    }));
    this.onEvent = opts.onEvent;
  }

  start(): void {
    for (const slot of this.slots) this.launch(slot);
  }

  status(): ChildStatus[] {
    return this.slots.map((s) => ({ ...s.status }));
  }

  private launch(slot: Slot): void {
    if (this.stopping) return;
    const { spec } = slot;
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      // Own process group: a Ctrl-C in the terminal reaches `stockify up` only, which then stops
      // the children in order instead of all of them dying at once.
      child = spawn(spec.command, [...spec.args], { env: { ...spec.env }, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const startedAtMs = Date.now();
    slot.child = child;
    slot.status = {
      ...slot.status,
      phase: 'running',
      startedAtMs,
      ...(child.pid === undefined ? {} : { pid: child.pid }),
    };
    delete slot.status.restartAtMs;
    this.onEvent?.({ name: spec.name, kind: 'start', detail: `pid ${child.pid ?? '?'}` });
    slot.exited = new Promise<void>((resolve) => {
      let settled = false;
      const done = (how: string): void => {
        if (settled) return;
        settled = true;
        slot.child = undefined;
        delete slot.status.pid;
        this.onEvent?.({ name: spec.name, kind: 'exit', detail: how });
        if (this.stopping) {
          slot.status.phase = 'stopped';
        } else {
          this.scheduleRestart(slot, how, Date.now() - startedAtMs);
        }
        resolve();
      };
      child.once('exit', (code, signal) => done(describeExit(code, signal)));
      child.once('error', (err) => {
        this.onEvent?.({ name: spec.name, kind: 'error', detail: err.message });
        // 'exit' may not follow a spawn failure.
        if (child.pid === undefined) done(`failed to start: ${err.message}`);
      });
    });
  }

  private scheduleRestart(slot: Slot, how: string, ranMs: number): void {
    if (ranMs >= this.policy.resetAfterMs) slot.backoff.reset();
    const delay = slot.backoff.next();
    slot.status.restarts += 1;
    slot.status.lastExit = how;
    slot.status.phase = 'backoff';
    slot.status.restartAtMs = Date.now() + delay;
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      this.launch(slot);
    }, delay);
  }

  /**
   * Stops every process: SIGTERM, then SIGKILL to those still running after `graceMs`. Resolves
   * with the names that had to be killed.
   */
  async stop(graceMs = 20_000): Promise<string[]> {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = undefined;
      if (slot.child) {
        slot.status.phase = 'stopping';
        signal(slot.child, 'SIGTERM');
      } else {
        slot.status.phase = 'stopped';
        delete slot.status.restartAtMs;
      }
    }
    const waits = this.slots.map((s) => s.exited ?? Promise.resolve());
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([Promise.all(waits).then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    const killed: string[] = [];
    if (outcome === 'timeout') {
      for (const slot of this.slots) {
        if (slot.child) {
          killed.push(slot.spec.name);
          signal(slot.child, 'SIGKILL');
        }
      }
      await Promise.all(waits);
    }
    return killed;
  }

  /** Last resort when `stockify up` itself exits: no child outlives it. Synchronous. */
  killAll(): void {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.child) signal(slot.child, 'SIGKILL');
    }
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}
