// One Dhan ingestion rollout per account at a time. The account's budget keeps ONE connection spare
// for the make-before-break handover (dhan-budget.ts): a rolling ingestion Deployment (RollingUpdate
// maxSurge 1, maxUnavailable 0) briefly runs its old and its new pod, both connected. A spec change
// that alters the pod template of several connection-holding Deployments at once would surge them
// all together and open more connections than the account has (Dhan answers 805). So a changed
// template of a holder is applied only while no other holder of the same account (any feed on the
// same credentials Secret) is rolling; the others are held back (everything else of the feed still
// applies) and the feed is looked at again after ROLLOUT_GATE_CHECK_MS.
//
// New Deployments (scale-out) are never held: the planner gives each holder its own slot among the
// usable connections, so a new holder's pod uses its slot, not the spare.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import { dhanAccount } from '../desired/dhan-budget.ts';
import { type AccountFeed, ANNOTATION_APPLIED_HASH, deploymentName, dhanBudget, hashOf } from '../desired/index.ts';
import type { ReconcilerDeps } from './deps.ts';
import { deploymentsOf } from './owned.ts';

/** How soon a feed with held rollouts is looked at again (the rolling one may belong to another feed). */
export const ROLLOUT_GATE_CHECK_MS = 3_000;
/** On an ingestion Deployment of a Dhan feed: the hash of its desired pod template. */
export const ANNOTATION_TEMPLATE_HASH = 'stockify.io/template-hash';
/** A released Deployment counts as rolling until the cache shows the new generation, at most this long. */
const RELEASE_GRACE_MS = 30_000;

/** A Deployment as far as its rollout goes. */
export interface RolloutStatusView {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    terminatingReplicas?: number;
  };
}

/**
 * Rolling: an old and a new pod may both hold a connection. That is the case while the controller
 * has not seen the latest template (observedGeneration < generation), while fewer pods than wanted
 * run the new template (updatedReplicas < replicas), while pods beyond the wanted count exist
 * (status.replicas > replicas: the surge pod or the old one not yet scaled down), and while pods
 * are terminating (terminatingReplicas, where the API server reports it). Unavailability alone is
 * NOT rolling: a fully updated pod that is not ready (crash loop) holds no extra connection, and
 * counting it would let one broken shard block every rollout of the account, its own fix included.
 */
export function isRolling(d: RolloutStatusView | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) return true;
  if (want === 0) return (s.replicas ?? 0) > 0 || (s.terminatingReplicas ?? 0) > 0;
  return (s.updatedReplicas ?? 0) < want || (s.replicas ?? 0) > want || (s.terminatingReplicas ?? 0) > 0;
}

export interface GateCandidate {
  name: string;
  /** Live already (a new Deployment is never held). */
  exists: boolean;
  /** Applying it changes its pod template (starts a rollout). */
  templateChanged: boolean;
}

export interface GateInput {
  /** This feed's connection-holding ingestion Deployments the apply would write, in rolling order. */
  candidates: readonly GateCandidate[];
  /** Every connection-holding ingestion Deployment of the account (this feed's and its peers'), live. */
  holders: ReadonlyMap<string, RolloutStatusView>;
  /** Released by this operator and not yet seen rolling in the cache (treated as rolling). */
  released?: ReadonlySet<string>;
}

export interface GateDecision {
  /** Deployments whose apply is held back now. */
  held: string[];
  /** The account's holders rolling now (what the held ones wait for). */
  rolling: string[];
  /** The Deployment released to roll by this decision, if any. */
  release?: string;
}

/** Which changed holder templates may be applied now: at most one rolling per account. */
export function gateRollouts(input: GateInput): GateDecision {
  const rolling = [...input.holders]
    .filter(([name, d]) => isRolling(d) || input.released?.has(name))
    .map(([name]) => name)
    .sort();
  const changed = input.candidates.filter((c) => c.exists && c.templateChanged).map((c) => c.name);
  if (rolling.length > 0) {
    // A rolling Deployment changed again keeps rolling with one surge pod: it may apply.
    return { held: changed.filter((n) => !rolling.includes(n)), rolling };
  }
  const [release, ...held] = changed;
  return release === undefined ? { held, rolling } : { held, rolling, release };
}

/** The message naming what waits for what (Progressing condition and the Event). */
export function heldMessage(decision: GateDecision): string | undefined {
  if (decision.held.length === 0) return undefined;
  const waitingFor = decision.rolling.length > 0 ? decision.rolling : decision.release ? [decision.release] : [];
  return `waiting for ${waitingFor.join(', ')} to finish rolling: one spare Dhan connection per account (held: ${decision.held.join(', ')})`;
}

type Desired = KubernetesObject & { spec?: object };
type Deps = Pick<ReconcilerDeps, 'owned' | 'events' | 'clock'>;

/** The connection-holding ingestion Deployment names of a feed's plan. */
function holderNames(feed: AccountFeed, peers: readonly AccountFeed[]): string[] {
  const plan = dhanBudget(feed, peers);
  if (!plan?.ok) return [];
  return plan.budget.shards
    .filter((s) => s.connections.length > 0)
    .map((s) => deploymentName(feed.metadata.name, 'ingestion', s.shard));
}

export interface GateOutcome {
  objects: Desired[];
  held: string[];
  message?: string;
}

/** The adapter: picks the holders from the plans, stamps template hashes, drops the held objects. */
export class RolloutGate {
  private readonly d: Deps;
  /** Released Deployment → [generation seen before the apply, when]. */
  private readonly released = new Map<string, [number, number]>();
  /** Last message per feed, so the Event is recorded once per change. */
  private readonly lastMessage = new Map<string, string>();

  constructor(deps: Deps) {
    this.d = deps;
  }

  async filter(feed: MarketFeed, objects: readonly Desired[], peers: readonly AccountFeed[]): Promise<GateOutcome> {
    const feedKey = `${feed.metadata.namespace}/${feed.metadata.name}`;
    const account = dhanAccount(feed);
    if (!account) return { objects: [...objects], held: [] };
    const live = deploymentsOf(this.d.owned, feed.metadata.namespace ?? '');
    const mine = new Set(holderNames(feed, peers));
    const accountFeeds = [feed as AccountFeed, ...peers].filter((p) => dhanAccount(p) === account);
    const holders = new Map<string, RolloutStatusView>();
    for (const f of accountFeeds) {
      const others = accountFeeds.filter((p) => p !== f);
      for (const name of f === feed ? mine : holderNames(f, others)) {
        const d = live.get(name);
        if (d) holders.set(name, d as RolloutStatusView);
      }
    }
    const now = this.d.clock.now();
    for (const [name, [generation, at]] of this.released) {
      const seen = (live.get(name)?.metadata?.generation ?? 0) > generation;
      if (seen || now - at > RELEASE_GRACE_MS) this.released.delete(name);
    }
    const stamped = objects.map((o) => {
      if (o.kind !== 'Deployment' || !mine.has(o.metadata?.name ?? '')) return o;
      const template = (o.spec as { template?: unknown } | undefined)?.template;
      const annotations: Record<string, string> = { ...o.metadata?.annotations, [ANNOTATION_TEMPLATE_HASH]: hashOf(template) };
      return { ...o, metadata: { ...o.metadata, annotations } };
    });
    const candidates: GateCandidate[] = stamped
      .filter((o) => o.kind === 'Deployment' && mine.has(o.metadata?.name ?? ''))
      .map((o) => {
        const name = o.metadata?.name ?? '';
        const current = live.get(name);
        const want: Record<string, string> = o.metadata?.annotations ?? {};
        const have: Record<string, string> = current?.metadata?.annotations ?? {};
        // Same applied hash: nothing changed at all (also for objects applied before the template hash existed).
        const templateChanged =
          have[ANNOTATION_APPLIED_HASH] !== want[ANNOTATION_APPLIED_HASH] &&
          have[ANNOTATION_TEMPLATE_HASH] !== want[ANNOTATION_TEMPLATE_HASH];
        return { name, exists: current !== undefined, templateChanged };
      })
      .sort((a, b) => shardOf(a.name) - shardOf(b.name));
    const decision = gateRollouts({ candidates, holders, released: new Set(this.released.keys()) });
    if (decision.release) {
      this.released.set(decision.release, [live.get(decision.release)?.metadata?.generation ?? 0, now]);
    }
    const held = new Set(decision.held);
    const message = heldMessage(decision);
    if (message && this.lastMessage.get(feedKey) !== message) {
      await this.d.events.record(feed, 'Normal', 'RolloutHeld', message);
    }
    if (message) this.lastMessage.set(feedKey, message);
    else this.lastMessage.delete(feedKey);
    return {
      objects: stamped.filter((o) => !(o.kind === 'Deployment' && held.has(o.metadata?.name ?? ''))),
      held: decision.held,
      ...(message ? { message } : {}),
    };
  }
}

const shardOf = (name: string): number => Number(name.slice(name.lastIndexOf('-') + 1));
