// The reconcile function: one MarketFeed key in, "done" or "requeue after" out (result.ts).
// Idempotent: it reads the informer caches, applies only objects whose content changed, moves
// removed shards one drain step on, and writes status only when it changed. Each concern lives in
// its own file; this one only orders them.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import { parseSpec, SpecError } from '../crd/validate.ts';
import { desiredObjects, dhanBudget } from '../desired/index.ts';
import { isOpen, type MarketState, nextBoundary, ScheduleError } from '../schedule.ts';
import type { ReconcilerDeps } from './deps.ts';
import { DHAN_BUDGET_RECHECK_MS, dhanPeers } from './dhan-account.ts';
import { finalize, syncFinalizer } from './finalizer.ts';
import { DEFAULT_LAG_CHECK_MS, lastLag, measureLag, scalesOnLag } from './lag.ts';
import { deploymentsOf } from './owned.ts';
import { pausedBy } from './pause.ts';
import { type Problem, sortProblems } from './problems.ts';
import { Applier } from './reconcile-apply.ts';
import { drainRemovedShards } from './reconcile-drain.ts';
import { publishStatus, writeStatus } from './reconcile-status.ts';
import { FeedTopics } from './reconcile-topics.ts';
import { RESTART_CHECK_MS, stepRestart } from './restart.ts';
import type { ReconcileResult } from './result.ts';
import { ROLLOUT_GATE_CHECK_MS, RolloutGate } from './rollout-gate.ts';
import { readSecrets } from './secrets.ts';
import { dhanBudgetExceededStatus, feedStatus, invalidSpecStatus, pausedStatus } from './status.ts';

/** The market now and when that next changes; an unusable schedule runs as if always open. */
function marketAt(feed: MarketFeed, now: Date): { market?: MarketState; boundary?: Date; problems: Problem[] } {
  try {
    const market = isOpen(feed.spec.schedule, now);
    const boundary = nextBoundary(feed.spec.schedule, now);
    return { market, ...(boundary ? { boundary } : {}), problems: [] };
  } catch (err) {
    if (!(err instanceof ScheduleError)) throw err;
    return { problems: [{ reason: 'InvalidTimezone', message: `${err.message}; running as if the market were open` }] };
  }
}

/** Wall time of each step of one pass, logged at debug: where a slow reconcile spends its time. */
class StepTimes {
  readonly ms: Record<string, number> = {};

  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.ms[step] = Math.round(performance.now() - t0);
    }
  }
}

export class Reconciler {
  private readonly d: ReconcilerDeps;
  private readonly applier: Applier;
  private readonly topics: FeedTopics;
  private readonly gate: RolloutGate;

  constructor(deps: ReconcilerDeps) {
    this.d = deps;
    this.applier = new Applier(deps);
    this.gate = new RolloutGate(deps);
    this.topics = new FeedTopics(deps);
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = '', name = ''] = key.split('/');
    const raw = this.d.feeds.get(name, namespace) as (MarketFeed & KubernetesObject) | undefined;
    if (!raw) return {};
    if (raw.metadata.deletionTimestamp) {
      const result = await finalize(this.d, raw);
      if (!result.retry) this.topics.forget(raw);
      return result;
    }
    let feed: MarketFeed;
    try {
      feed = { ...raw, spec: parseSpec(raw.spec) };
    } catch (err) {
      if (!(err instanceof SpecError)) throw err;
      await writeStatus(this.d, raw, invalidSpecStatus(raw, err.message, this.now()));
      return {};
    }
    await syncFinalizer(this.d.kube, raw, feed.spec.kafka.deletionPolicy === 'Delete');
    const paused = pausedBy(feed);
    if (paused) {
      await writeStatus(this.d, raw, pausedStatus(raw, this.now(), paused));
      return {};
    }
    return this.converge(feed);
  }

  /** One pass towards the desired state of a valid, unpaused feed. */
  private async converge(feed: MarketFeed): Promise<ReconcileResult> {
    const now = this.now();
    const { market, boundary, problems: scheduleProblems } = marketAt(feed, now);
    // A Dhan feed shares its account with every feed on the same credentials Secret: one plan for all,
    // ordered by creation time (the object read from the API carries metadata.creationTimestamp).
    const peers = feed.spec.source.type === 'dhan' ? dhanPeers(this.d.feeds, feed) : [];
    const dhan = dhanBudget(feed, peers);
    if (dhan && !dhan.ok) {
      await publishStatus(this.d, feed, dhanBudgetExceededStatus(feed, dhan.message, now));
      return { requeueAfterMs: DHAN_BUDGET_RECHECK_MS };
    }
    // Lag sets the HPA floors (operator/controller/lag.ts); unmeasurable, they stay at minReplicas.
    // The Secrets' hashes go on the pod templates that read them (a rotation rolls those pods).
    const steps = new StepTimes();
    const [lag, secrets] = await steps.time('read', () => Promise.all([measureLag(this.d, feed), readSecrets(this.d, feed)]));
    const desired = desiredObjects(feed, {
      marketOpen: market?.open ?? true,
      image: this.d.image,
      dhanPeers: peers,
      secretHashes: secrets.hashes,
      ...(lag ? { lag: lag.byDeployment } : {}),
    });
    // One Dhan ingestion rollout per account at a time (the spare connection): the others wait.
    const gated = await steps.time('gate', () => this.gate.filter(feed, desired, peers));
    // Kafka topics and the objects are independent: do them side by side.
    const [topicProblems, apply] = await Promise.all([
      steps.time('topics', () => this.topics.ensure(feed)),
      steps.time('apply', () => this.applier.applyAll(feed, gated.objects)),
    ]);
    const secretProblems = secrets.problems;
    const drain = await steps.time('drain', () => drainRemovedShards(this.d, feed));
    const restart = await steps.time('restart', () => stepRestart(this.d, feed, now));
    const problems = [
      ...sortProblems([
        ...scheduleProblems,
        ...apply.problems,
        ...secretProblems,
        ...topicProblems,
        ...(restart.problem ? [restart.problem] : []),
      ]),
      ...drain.problems,
    ];
    const deployments = deploymentsOf(this.d.owned, feed.metadata.namespace);
    const { draining } = drain;
    const status = feedStatus({
      feed,
      deployments,
      draining,
      market,
      boundary,
      problems,
      applied: apply.applied,
      dhanBudget: dhan?.budget,
      heldRollouts: gated.message,
      lag: lag?.byShard ?? lastLag(feed),
      now,
    });
    await steps.time('status', () =>
      publishStatus(this.d, feed, restart.status ? { ...status, restart: restart.status } : status),
    );
    this.d.log.debug(
      {
        feed: `${feed.metadata.namespace}/${feed.metadata.name}`,
        objects: gated.objects.length,
        applied: apply.applied,
        stepsMs: steps.ms,
      },
      'reconcile steps',
    );

    const delays: number[] = [];
    if (boundary) delays.push(Math.max(1, boundary.getTime() - now.getTime()));
    if (draining.length > 0) delays.push(this.d.drainCheckMs ?? 5_000);
    if (scalesOnLag(feed)) delays.push(this.d.lagCheckMs ?? DEFAULT_LAG_CHECK_MS);
    if (restart.rolling) delays.push(RESTART_CHECK_MS);
    if (gated.held.length > 0) delays.push(ROLLOUT_GATE_CHECK_MS);
    return {
      ...(delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : {}),
      ...(problems.length > 0 ? { retry: true } : {}),
    };
  }

  private now(): Date {
    return new Date(this.d.clock.now());
  }
}
