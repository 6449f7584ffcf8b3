// Restarts on demand: runs one step of restart-plan.ts per reconcile. Rolling a Deployment is a
// merge patch of its pod template's stockify.io/restarted-for annotation (what `kubectl rollout
// restart` does), under its own field manager so the operator's server-side apply of the same
// Deployment neither owns nor removes it.
import { PatchStrategy } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import type { ReconcilerDeps } from './deps.ts';
import { describeError } from './kube.ts';
import { deploymentsOf } from './owned.ts';
import type { Problem } from './problems.ts';
import {
  ANNOTATION_RESTART,
  ANNOTATION_RESTARTED_FOR,
  maxLagOf,
  type RestartStatus,
  restartStep,
  rolledOut,
  shardOfDeployment,
} from './restart-plan.ts';

const RESTART_MANAGER = 'stockify-operator-restart';
/** How soon a feed with a restart in progress is looked at again (Deployment events come sooner). */
export const RESTART_CHECK_MS = 2_000;

type Deps = Pick<ReconcilerDeps, 'kube' | 'owned' | 'topics' | 'events' | 'log'>;

export interface RestartOutcome {
  status: RestartStatus | undefined;
  rolling: boolean;
  problem?: Problem;
}

async function rollDeployment(d: Deps, feed: MarketFeed, name: string, request: string): Promise<void> {
  await d.kube.objects.patch(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: feed.metadata.namespace },
      spec: { template: { metadata: { annotations: { [ANNOTATION_RESTARTED_FOR]: request } } } },
    },
    undefined,
    undefined,
    RESTART_MANAGER,
    undefined,
    PatchStrategy.MergePatch,
  );
}

/** Moves the feed's restart request (if any) one step on. */
export async function stepRestart(d: Deps, feed: MarketFeed, now: Date): Promise<RestartOutcome> {
  const request = feed.metadata.annotations?.[ANNOTATION_RESTART];
  const previous = feed.status?.restart as RestartStatus | undefined;
  if (request === undefined) return { status: previous, rolling: false };
  const deployments = deploymentsOf(d.owned, feed.metadata.namespace);
  const current = previous?.request === request ? previous.current : undefined;
  let currentLag: number | undefined;
  if (current && rolledOut(deployments.get(current), request)) {
    try {
      currentLag = await d.topics.shardLag(feed, shardOfDeployment(current));
    } catch (err) {
      d.log.warn({ deployment: current, err: describeError(err) }, 'lag unavailable; the restart waits');
    }
  }
  const step = restartStep({
    request,
    previous,
    feed: { name: feed.metadata.name, shards: feed.spec.shards },
    deployments,
    currentLag,
    maxLag: maxLagOf(feed.metadata.annotations),
    now: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  });
  if (step.status?.phase === 'Invalid' && previous?.request !== request) {
    await d.events.record(feed, 'Warning', 'RestartInvalid', step.status.message);
  }
  if (step.roll) {
    try {
      await rollDeployment(d, feed, step.roll, request);
      await d.events.record(feed, 'Normal', 'Restarting', `rolling ${step.roll} for ${ANNOTATION_RESTART}=${request}`);
    } catch (err) {
      // Not recorded as current: the next reconcile picks the same Deployment again.
      const problem: Problem = { reason: 'ApplyFailed', message: `restart of ${step.roll}: ${describeError(err)}` };
      return { status: previous?.request === request ? previous : undefined, rolling: true, problem };
    }
  }
  if (step.status?.phase === 'Complete' && previous?.phase !== 'Complete') {
    await d.events.record(feed, 'Normal', 'Restarted', `${ANNOTATION_RESTART}=${request}: ${step.status.message}`);
  }
  return { status: step.status, rolling: step.rolling };
}
