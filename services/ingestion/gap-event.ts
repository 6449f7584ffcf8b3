// A recorded gap as a Warning Event on the MarketFeed (`kubectl get events --field-selector
// reason=IngestionGap`), for whoever watches the cluster rather than the tables. In a cluster the
// pod's token may do exactly this (Role <feed>-stockify-gaps: events/create); outside one (stockify
// up) there is no token and no Event. Best effort: the gap row and the metric do not depend on it.
// The Kubernetes client (about 870 modules, ~25 MiB of heap) is imported at the first gap, not at
// start: gaps are rare and an idle ingestion pod should not hold it.
import { existsSync } from 'node:fs';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Logger } from '../core/log.ts';
import type { IngestionGap } from '../core/messages.ts';

const TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const FEED_API_VERSION = 'stockify.io/v1alpha1';

export type GapEventRecorder = (gap: IngestionGap) => Promise<void>;

/** The message of a gap's Event: what may be missing, from when to when. */
export function gapEventMessage(gap: IngestionGap): string {
  const seconds = ((gap.toMs - gap.fromMs) / 1000).toFixed(0);
  return `shard ${gap.shard}: ticks of ${gap.instrumentIds.length} instrument(s) may be missing between ${new Date(gap.fromMs).toISOString()} and ${new Date(gap.toMs).toISOString()} (${seconds} s; the previous ingestion process stopped without a handover); stockify query gaps all`;
}

export function gapEventRecorder(log: Logger): GapEventRecorder | undefined {
  if (!process.env.KUBERNETES_SERVICE_HOST || !existsSync(TOKEN)) return undefined;
  let client: Promise<CoreV1Api> | undefined;
  const coreApi = async (): Promise<CoreV1Api> => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromCluster();
    return kc.makeApiClient(k8s.CoreV1Api);
  };
  return async (gap) => {
    const now = new Date();
    try {
      client ??= coreApi();
      const core = await client;
      await core.createNamespacedEvent({
        namespace: gap.namespace,
        body: {
          metadata: { generateName: `${gap.feed}.`, namespace: gap.namespace },
          involvedObject: { apiVersion: FEED_API_VERSION, kind: 'MarketFeed', name: gap.feed, namespace: gap.namespace },
          type: 'Warning',
          reason: 'IngestionGap',
          message: gapEventMessage(gap).slice(0, 1024),
          source: { component: 'stockify-ingestion' },
          reportingComponent: 'stockify.io/ingestion',
          reportingInstance: process.env.HOSTNAME ?? 'ingestion',
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      client = undefined; // a client that could not be built is built again at the next gap
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not record the gap as an Event');
    }
  };
}
