// Deployments <feed>-<component>-<i>: one per component and shard, restricted pod security, gRPC
// health probes, the shard file mounted from its ConfigMap and its hash on the pod template.

import type { V1DeploymentSpec, V1EnvVar } from '@kubernetes/client-node';
import { rawTopic } from '../../services/core/topics.ts';
import type { MarketFeed } from '../crd/types.ts';
import { authEnv, needsServiceAccountToken } from './gateway.ts';
import {
  ANNOTATION_CONFIG_HASH,
  type Component,
  configMapName,
  DEFAULT_IMAGE,
  deploymentName,
  GRPC_PORT,
  labels,
  METRICS_PORT,
  objectMeta,
  SHARD_FILE_DIR,
  SHARD_FILE_KEY,
  selectorLabels,
  serviceAccountName,
} from './meta.ts';
import type { DesiredDeployment } from './objects.ts';
import { containerResources } from './resources.ts';

/** A container env entry: a literal value or a key of a Secret. */
export type EnvVar = V1EnvVar;

export interface DeploymentOptions {
  shard: number;
  /** Hash of the shard ConfigMap: a changed shard file rolls the pods. */
  configHash: string;
  /** Replicas to apply; undefined leaves them to whoever owns them (HPA, kubectl scale). */
  replicas: number | undefined;
  image?: string;
}

/**
 * V8 grows the young generation of a busy process to 64 MiB semi-spaces on a large host and keeps
 * it. Capped at 16 MiB (`make bench`'s e2e section and tests/bench/operator/footprint.ts,
 * 2026-11-30, alternating runs on the shared 2-core machine): peak RSS at 1,000 ticks/s storage 220
 * MiB against 288–342, processor 176 against 205–254; CPU per tick over the three processes 128–146
 * µs against 165–166 (no throughput lost: fewer cache misses). Smaller caps (2–4 MiB) cut idle RSS
 * further but cost up to 41% more CPU per tick, so 16.
 */
const NODE_OPTIONS = '--max-semi-space-size=16';

export function componentEnv(feed: MarketFeed, component: Component, shard: number): EnvVar[] {
  const spec = feed.spec;
  const env: EnvVar[] = [
    { name: 'KAFKA_BROKERS', value: spec.kafka.bootstrapServers },
    { name: 'FEED_NAME', value: feed.metadata.name },
    { name: 'FEED_NAMESPACE', value: feed.metadata.namespace },
    { name: 'SHARD_INDEX', value: String(shard) },
    { name: 'SHARD_COUNT', value: String(spec.shards) },
    { name: 'INSTRUMENTS_FILE', value: `${SHARD_FILE_DIR}/${SHARD_FILE_KEY}` },
    { name: 'GRPC_PORT', value: String(GRPC_PORT) },
    { name: 'METRICS_PORT', value: String(METRICS_PORT) },
    { name: 'LOG_LEVEL', value: spec.logLevel },
    { name: 'NODE_OPTIONS', value: NODE_OPTIONS },
  ];
  if (component !== 'ingestion') env.push({ name: 'REDIS_URL', value: spec.redis.url });
  // spec.auth: storage's MarketData and ingestion's Ingest take the gateway's tokens.
  if (component !== 'processor') env.push(...authEnv(feed));
  if (component === 'storage') {
    const ref = spec.postgres.secretRef;
    env.push({ name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
  }
  const dhan = spec.source.dhan;
  if (component === 'ingestion' && spec.source.type === 'dhan' && dhan) {
    const ref = dhan.credentialsSecretRef;
    env.push(
      { name: 'DHAN_CLIENT_ID', valueFrom: { secretKeyRef: { name: ref.name, key: ref.clientIdKey } } },
      { name: 'DHAN_ACCESS_TOKEN', valueFrom: { secretKeyRef: { name: ref.name, key: ref.accessTokenKey } } },
      // Endpoints other than Dhan's (a sandbox, a test double) travel with the credentials they
      // belong to: optional keys feedUrl and apiUrl of the same Secret; absent, Dhan's defaults.
      { name: 'DHAN_FEED_URL', valueFrom: { secretKeyRef: { name: ref.name, key: 'feedUrl', optional: true } } },
      { name: 'DHAN_API_URL', valueFrom: { secretKeyRef: { name: ref.name, key: 'apiUrl', optional: true } } },
    );
    if (dhan.scripMasterUrl) env.push({ name: 'DHAN_SCRIP_MASTER_URL', value: dhan.scripMasterUrl });
  }
  return env;
}

export function deployment(feed: MarketFeed, component: Component, opts: DeploymentOptions): DesiredDeployment {
  const { shard } = opts;
  const name = feed.metadata.name;
  const resources = containerResources(component, feed.spec[component].resources);
  const spec: V1DeploymentSpec = {
    ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
    revisionHistoryLimit: 3,
    // Make-before-break, except for a simulator or replay ingestion (Recreate): what they produce
    // can be produced again, and two of them side by side would publish two different streams,
    // the old one still under the previous shard file (after a reshard, instruments its topic no
    // longer holds: the processor refuses them). For a Dhan ingestion the surge pod is the
    // handover: Ready only once its source is connected and subscribed, the old pod streaming on a
    // moment after SIGTERM, storage's content-derived keys dropping the overlap; the account's
    // budget keeps one spare connection slot for it.
    strategy:
      component === 'ingestion' && feed.spec.source.type !== 'dhan'
        ? { type: 'Recreate' }
        : { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    selector: { matchLabels: selectorLabels(feed, component, shard) },
    template: {
      metadata: {
        labels: labels(feed, component, shard),
        annotations: {
          [ANNOTATION_CONFIG_HASH]: opts.configHash,
          'stockify.io/raw-topic': rawTopic(feed.metadata.namespace, name, shard),
        },
      },
      spec: {
        serviceAccountName: serviceAccountName(name),
        // Only a Dhan feed's ingestion pods get a token: it may create Events (rbac.ts), nothing else.
        // spec.auth.serviceAccountIssuer: the token also authenticates the JWKS request to the API server.
        automountServiceAccountToken:
          (component === 'ingestion' && feed.spec.source.type === 'dhan') ||
          (component !== 'processor' && needsServiceAccountToken(feed)),
        // Ingestion: the handover overlap (3 s) comes before the 30 s flush deadline.
        terminationGracePeriodSeconds: component === 'ingestion' ? 40 : 30,
        securityContext: {
          runAsNonRoot: true,
          runAsUser: 10001,
          runAsGroup: 10001,
          fsGroup: 10001,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [
          {
            name: component,
            image: feed.spec.image ?? opts.image ?? DEFAULT_IMAGE,
            imagePullPolicy: feed.spec.imagePullPolicy,
            args: [component],
            env: componentEnv(feed, component, shard),
            ports: [
              { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
              { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
            ],
            startupProbe: { grpc: { port: GRPC_PORT }, periodSeconds: 2, failureThreshold: 60 },
            // Ingestion's Ready means "source connected and subscribed" (/readyz), which is what lets a
            // rollout retire the old pod; the other components are ready once they serve gRPC.
            readinessProbe:
              component === 'ingestion'
                ? { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 2 }
                : { grpc: { port: GRPC_PORT }, periodSeconds: 5, failureThreshold: 2 },
            livenessProbe: { grpc: { port: GRPC_PORT }, periodSeconds: 10, failureThreshold: 3 },
            resources,
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              runAsNonRoot: true,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
            volumeMounts: [
              { name: 'shard', mountPath: SHARD_FILE_DIR, readOnly: true },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
        ],
        volumes: [
          { name: 'shard', configMap: { name: configMapName(name, shard) } },
          { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
        ],
      },
    },
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(feed, deploymentName(name, component, shard), component, shard),
    spec,
  };
}
