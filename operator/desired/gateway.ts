// The optional <feed>-gateway (spec.gateway): Deployment, Service, HPA and PDB, labelled like every
// other object of the feed. The gateway calls MarketData through Service <feed>-grpc and reads Redis.
import type { V1EnvVar } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import {
  DEFAULT_IMAGE,
  GRPC_PORT,
  grpcServiceName,
  LABEL_INSTANCE,
  LABEL_NAME,
  labels,
  objectMeta,
  serviceAccountName,
} from './meta.ts';
import type { DesiredDeployment, DesiredHpa, DesiredObject, DesiredPdb, DesiredService } from './objects.ts';
import { containerResources } from './resources.ts';

export const GATEWAY_COMPONENT = 'gateway';
export const GATEWAY_HTTP_PORT = 8080;
export const gatewayName = (feed: string): string => `${feed}-gateway`;
/** The cluster's service-account issuer keys (spec.auth.serviceAccountIssuer). */
export const CLUSTER_JWKS_URL = 'https://kubernetes.default.svc/openid/v1/jwks';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const gatewaySelector = (feed: MarketFeed): Record<string, string> => ({
  [LABEL_NAME]: GATEWAY_COMPONENT,
  [LABEL_INSTANCE]: feed.metadata.name,
});

/**
 * The AUTH_* variables of spec.auth, the same for the gateway and for storage and ingestion (gRPC
 * MarketData and Ingest); none when auth is off. The HS256 secret only through secretKeyRef.
 */
export function authEnv(feed: MarketFeed): V1EnvVar[] {
  const auth = feed.spec.auth;
  if (!auth) return [];
  const env: V1EnvVar[] = [
    { name: 'AUTH_AUDIENCE', value: auth.audience },
    { name: 'AUTH_DEFAULT_SCOPES', value: auth.defaultScopes.join(' ') },
  ];
  if (auth.issuer) env.push({ name: 'AUTH_ISSUER', value: auth.issuer });
  if (auth.hs256SecretRef) {
    const ref = auth.hs256SecretRef;
    env.push({ name: 'AUTH_HS256_SECRET', valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } });
  } else if (auth.jwksUrl) {
    env.push({ name: 'AUTH_JWKS_URL', value: auth.jwksUrl });
  } else if (auth.serviceAccountIssuer) {
    // The API server's JWKS is served over the cluster CA to authenticated service accounts.
    env.push(
      { name: 'AUTH_JWKS_URL', value: CLUSTER_JWKS_URL },
      { name: 'AUTH_JWKS_TOKEN_FILE', value: `${SA_DIR}/token` },
      { name: 'NODE_EXTRA_CA_CERTS', value: `${SA_DIR}/ca.crt` },
    );
  }
  return env;
}

/** Pods that verify against the cluster issuer need their ServiceAccount token and CA mounted. */
export const needsServiceAccountToken = (feed: MarketFeed): boolean => feed.spec.auth?.serviceAccountIssuer === true;

export function gatewayEnv(feed: MarketFeed): V1EnvVar[] {
  const spec = feed.spec;
  const g = spec.gateway;
  if (!g) return [];
  const env: V1EnvVar[] = [
    { name: 'FEED_NAME', value: feed.metadata.name },
    { name: 'FEED_NAMESPACE', value: feed.metadata.namespace },
    { name: 'REDIS_URL', value: spec.redis.url },
    { name: 'MARKETDATA_ENDPOINT', value: `${grpcServiceName(feed.metadata.name)}:${GRPC_PORT}` },
    { name: 'HTTP_PORT', value: String(GATEWAY_HTTP_PORT) },
    { name: 'LOG_LEVEL', value: spec.logLevel },
    { name: 'RATE_LIMIT_PER_MINUTE', value: String(g.rateLimitPerMinute) },
    { name: 'LIVE_HIGH_WATER_BYTES', value: String(g.live.highWaterBytes) },
    { name: 'LIVE_MAX_BEHIND_MS', value: String(g.live.maxBehindSeconds * 1000) },
    { name: 'LIVE_MAX_INSTRUMENTS', value: String(g.live.maxInstruments) },
  ];
  if (g.corsOrigins && g.corsOrigins.length > 0) env.push({ name: 'CORS_ORIGINS', value: g.corsOrigins.join(',') });
  return [...env, ...authEnv(feed)];
}

export function gatewayDeployment(feed: MarketFeed, opts: { image?: string } = {}): DesiredDeployment | undefined {
  const g = feed.spec.gateway;
  if (!g) return undefined;
  const name = feed.metadata.name;
  const httpProbe = (path: string, period: number) => ({
    httpGet: { path, port: 'http' },
    periodSeconds: period,
    failureThreshold: 3,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: objectMeta(feed, gatewayName(name), GATEWAY_COMPONENT),
    spec: {
      ...(g.autoscaling ? {} : { replicas: g.replicas }),
      revisionHistoryLimit: 3,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      selector: { matchLabels: gatewaySelector(feed) },
      template: {
        metadata: { labels: labels(feed, GATEWAY_COMPONENT) },
        spec: {
          serviceAccountName: serviceAccountName(name),
          automountServiceAccountToken: needsServiceAccountToken(feed),
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: GATEWAY_COMPONENT,
              image: feed.spec.image ?? opts.image ?? DEFAULT_IMAGE,
              imagePullPolicy: feed.spec.imagePullPolicy,
              args: [GATEWAY_COMPONENT],
              env: gatewayEnv(feed),
              ports: [{ name: 'http', containerPort: GATEWAY_HTTP_PORT, protocol: 'TCP' }],
              startupProbe: { ...httpProbe('/healthz', 2), failureThreshold: 60 },
              readinessProbe: httpProbe('/readyz', 5),
              livenessProbe: httpProbe('/healthz', 10),
              resources: containerResources(GATEWAY_COMPONENT, g.resources),
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  };
}

export function gatewayService(feed: MarketFeed): DesiredService | undefined {
  const g = feed.spec.gateway;
  if (!g) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: objectMeta(feed, gatewayName(feed.metadata.name), GATEWAY_COMPONENT),
    spec: {
      type: g.service.type,
      selector: gatewaySelector(feed),
      ports: [{ name: 'http', port: g.service.port, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }],
    },
  };
}

export function gatewayHpa(feed: MarketFeed): DesiredHpa | undefined {
  const auto = feed.spec.gateway?.autoscaling;
  if (!auto) return undefined;
  const name = gatewayName(feed.metadata.name);
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: objectMeta(feed, name, GATEWAY_COMPONENT),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: auto.minReplicas,
      maxReplicas: auto.maxReplicas,
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: auto.targetCPUUtilization } },
        },
      ],
    },
  };
}

export function gatewayPdb(feed: MarketFeed): DesiredPdb | undefined {
  if (!feed.spec.gateway) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: objectMeta(feed, gatewayName(feed.metadata.name), GATEWAY_COMPONENT),
    spec: { maxUnavailable: 1, selector: { matchLabels: gatewaySelector(feed) } },
  };
}

/** Every gateway object of the feed; none without spec.gateway. */
export function gatewayObjects(feed: MarketFeed, opts: { image?: string } = {}): DesiredObject[] {
  return [gatewayDeployment(feed, opts), gatewayService(feed), gatewayHpa(feed), gatewayPdb(feed)].filter(
    (o): o is NonNullable<typeof o> => o !== undefined,
  );
}
