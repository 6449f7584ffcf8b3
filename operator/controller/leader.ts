// Leader election on a coordination.k8s.io/v1 Lease, after client-go's: acquire when the lease is
// free or its holder stopped renewing, renew well within the lease duration, step down when renewal
// fails past the deadline, release on shutdown. Every update carries the resourceVersion read, so
// two candidates can never both win the same round (the loser gets 409 Conflict).
import { type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '../../services/core/log.ts';
import type { Clock, Timer } from './clock.ts';
import { describeError, type Kube, statusOf } from './kube.ts';

export interface LeaderOptions {
  kube: Kube;
  namespace: string;
  name?: string;
  identity: string;
  clock: Clock;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderOptions, 'name'>> & { name: string };
  private leading = false;
  private stopped = false;
  private timer: Timer | undefined;
  /** The record last seen and when (by our clock): expiry is judged on our clock, not the holder's. */
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private lastRenewOk = 0;

  constructor(opts: LeaderOptions) {
    this.o = {
      name: 'stockify-operator',
      leaseDurationSeconds: 15,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...opts,
    };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimer(() => void this.tick(), this.o.retryPeriodMs);
  }

  private get clock(): Clock {
    return this.o.clock;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenewOk = this.clock.now();
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
          this.o.onStartedLeading();
        }
      } else if (this.leading) {
        this.stepDown('another holder owns the lease');
      }
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'lease update failed');
      if (this.leading && this.clock.now() - this.lastRenewOk > this.o.renewDeadlineMs) this.stepDown('renew deadline passed');
    }
    this.schedule();
  }

  private stepDown(reason: string): void {
    this.leading = false;
    this.o.log.warn({ reason }, 'lost leadership');
    this.o.onStoppedLeading();
  }

  private leaseBody(existing: V1Lease | undefined, acquiring: boolean): V1Lease {
    const now = new V1MicroTime(this.clock.now());
    const transitions = existing?.spec?.leaseTransitions ?? 0;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.o.name,
        namespace: this.o.namespace,
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        acquireTime: acquiring ? now : (existing?.spec?.acquireTime ?? now),
        renewTime: now,
        leaseTransitions: acquiring && existing ? transitions + 1 : transitions,
      },
    };
  }

  /** One round: true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { coordination } = this.o.kube;
    let existing: V1Lease | undefined;
    try {
      existing = await coordination.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
    if (!existing) {
      try {
        await coordination.createNamespacedLease({ namespace: this.o.namespace, body: this.leaseBody(undefined, true) });
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false;
        throw err;
      }
    }
    const holder = existing.spec?.holderIdentity ?? '';
    const renewTime = String(existing.spec?.renewTime?.toISOString?.() ?? existing.spec?.renewTime ?? '');
    const now = this.clock.now();
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: now };
    }
    const durationMs = (existing.spec?.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    const mine = holder === this.o.identity;
    const expired = holder === '' || now - this.observed.at > durationMs;
    if (!mine && !expired) return false;
    try {
      await coordination.replaceNamespacedLease({
        name: this.o.name,
        namespace: this.o.namespace,
        body: this.leaseBody(existing, !mine),
      });
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false;
      throw err;
    }
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    if (!this.leading) return;
    this.leading = false;
    try {
      const { coordination } = this.o.kube;
      const existing = await coordination.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (existing.spec?.holderIdentity === this.o.identity) {
        const body = this.leaseBody(existing, false);
        if (body.spec) {
          body.spec.holderIdentity = '';
          body.spec.leaseDurationSeconds = 1;
        }
        await coordination.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body });
      }
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'could not release the lease');
    }
    this.o.onStoppedLeading();
  }
}
