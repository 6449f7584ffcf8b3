// Restarts on demand (the annotation stockify.io/restart on a MarketFeed), as a pure state
// machine: which Deployments a request names, in which order, and when the next one may roll.
// One Deployment at a time (each rolls one pod at a time: maxSurge 1, maxUnavailable 0), the next
// only once the previous is fully rolled out and its shard's consumer lag is at most maxLag.
//
// Value: `<target>[@<token>]`, target one of
//   all | ingestion | processor | storage | shard-<i> | shard-<i>/<component>
// The token (a timestamp, say) makes a repeat of the same target a new request: a request is acted
// on once, when its value differs from status.restart.request.
import { COMPONENTS, type Component, deploymentName } from '../desired/index.ts';

export const ANNOTATION_RESTART = 'stockify.io/restart';
/** Lag (messages) a shard may have before the next Deployment rolls; default DEFAULT_RESTART_MAX_LAG. */
export const ANNOTATION_RESTART_MAX_LAG = 'stockify.io/restart-max-lag';
export const DEFAULT_RESTART_MAX_LAG = 1000;
/** On the pod template of a Deployment rolled for a request: the request's value. */
export const ANNOTATION_RESTARTED_FOR = 'stockify.io/restarted-for';

export type RestartPhase = 'Rolling' | 'Complete' | 'Invalid';

export interface RestartStatus {
  request: string;
  phase: RestartPhase;
  message: string;
  current?: string;
  done?: string[];
  pending?: string[];
  startedAt?: string;
  finishedAt?: string;
}

/** A Deployment as far as a rollout goes. */
export interface RolloutView {
  metadata?: { generation?: number };
  spec?: { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number };
}

const TARGET = /^(?:all|(ingestion|processor|storage)|shard-(\d{1,3})(?:\/(ingestion|processor|storage))?)$/;

/** The Deployments a request names, in rolling order (shards ascending, then ingestion → processor → storage). */
export function restartPlan(
  value: string,
  feed: { name: string; shards: number },
): { ok: true; deployments: string[] } | { ok: false; message: string } {
  const target = value.split('@')[0]?.trim() ?? '';
  const m = TARGET.exec(target);
  if (!m) {
    return {
      ok: false,
      message: `${ANNOTATION_RESTART}: "${target}" is not all, a component (ingestion, processor, storage), shard-<i> or shard-<i>/<component>`,
    };
  }
  const [, onlyComponent, shardText, shardComponent] = m;
  const shard = shardText === undefined ? undefined : Number(shardText);
  if (shard !== undefined && shard >= feed.shards) {
    return { ok: false, message: `${ANNOTATION_RESTART}: shard ${shard} does not exist (the feed has ${feed.shards})` };
  }
  const components = ((onlyComponent ?? shardComponent) ? [onlyComponent ?? shardComponent] : [...COMPONENTS]) as Component[];
  const shards = shard === undefined ? Array.from({ length: feed.shards }, (_, i) => i) : [shard];
  return { ok: true, deployments: shards.flatMap((s) => components.map((c) => deploymentName(feed.name, c, s))) };
}

/** The shard index of a Deployment name <feed>-<component>-<i>. */
export const shardOfDeployment = (name: string): number => Number(name.slice(name.lastIndexOf('-') + 1));

/** Rolled for this request: the template carries it, and every replica is updated and available. */
export function rolledOut(d: RolloutView | undefined, request: string): boolean {
  if (!d) return false;
  if (d.spec?.template?.metadata?.annotations?.[ANNOTATION_RESTARTED_FOR] !== request) return false;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return false;
  const want = d.spec?.replicas ?? 1;
  return (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want && (s.replicas ?? 0) <= want;
}

/** The max lag from the annotation; a bad value is the default (the request still runs). */
export function maxLagOf(annotations: Record<string, string> | undefined): number {
  const raw = annotations?.[ANNOTATION_RESTART_MAX_LAG];
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n >= 0 ? n : DEFAULT_RESTART_MAX_LAG;
}

export interface RestartInput {
  /** The annotation's value; undefined when absent. */
  request: string | undefined;
  previous: RestartStatus | undefined;
  feed: { name: string; shards: number };
  deployments: ReadonlyMap<string, RolloutView>;
  /** Lag of the current Deployment's shard, measured by the caller once that Deployment rolled out. */
  currentLag: number | undefined;
  maxLag: number;
  now: string;
}

export interface RestartStep {
  /** The status to show (undefined: none to show). */
  status: RestartStatus | undefined;
  /** The Deployment to roll now. */
  roll?: string;
  /** Still rolling: look again soon. */
  rolling: boolean;
}

function start(input: RestartInput, request: string): RestartStatus {
  const plan = restartPlan(request, input.feed);
  if (!plan.ok) return { request, phase: 'Invalid', message: plan.message, startedAt: input.now, finishedAt: input.now };
  return { request, phase: 'Rolling', message: 'starting', done: [], pending: plan.deployments, startedAt: input.now };
}

/** One step of the state machine: called on every reconcile of an unpaused feed. */
export function restartStep(input: RestartInput): RestartStep {
  const { request } = input;
  if (request === undefined) return { status: input.previous, rolling: false };
  const state = input.previous?.request === request ? { ...input.previous } : start(input, request);
  if (state.phase !== 'Rolling') return { status: state, rolling: false };
  const done = [...(state.done ?? [])];
  const pending = [...(state.pending ?? [])];
  const current = state.current;
  if (current !== undefined) {
    const d = input.deployments.get(current);
    if (d) {
      if (!rolledOut(d, request)) return { status: { ...state, message: `rolling ${current}` }, rolling: true };
      const shard = shardOfDeployment(current);
      if (input.currentLag === undefined || input.currentLag > input.maxLag) {
        const lag = input.currentLag === undefined ? 'unknown' : String(input.currentLag);
        const message = `${current} rolled out; waiting for shard ${shard} lag ${lag} to reach at most ${input.maxLag}`;
        return { status: { ...state, message }, rolling: true };
      }
    }
    done.push(current); // rolled out and caught up, or gone (a shard removed meanwhile)
  }
  const next = pending.shift();
  const { current: _previous, ...rest } = state;
  if (next === undefined) {
    const message = `rolled ${done.length} Deployment(s) one at a time`;
    return { status: { ...rest, phase: 'Complete', message, done, pending, finishedAt: input.now }, rolling: false };
  }
  return { status: { ...rest, message: `rolling ${next}`, current: next, done, pending }, roll: next, rolling: true };
}
