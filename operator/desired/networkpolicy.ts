// NetworkPolicy <feed>-stockify: the feed's pods accept MarketData (gRPC) and metrics only from
// pods labelled as clients, the feed's gateway and the monitoring namespace, and connect out only
// to Kafka, PostgreSQL, Redis, DNS, (Dhan feeds) the Dhan hosts and the API server when a component
// talks to it: spec.auth.serviceAccountIssuer (its keys verify the callers' tokens) or a Dhan source
// (ingestion records each gap as an IngestionGap Event). Ports come from the spec
// where it names them (bootstrap servers, Redis URL); CIDRs are optional per destination, since
// the brokers and databases are usually named by host, and a policy cannot name hosts.
import type { V1NetworkPolicyEgressRule, V1NetworkPolicyPeer } from '@kubernetes/client-node';
import type { MarketFeed } from '../crd/types.ts';
import {
  COMPONENTS,
  GRPC_PORT,
  LABEL_INSTANCE,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  MANAGED_BY,
  METRICS_PORT,
  objectMeta,
} from './meta.ts';
import type { DesiredNetworkPolicy } from './objects.ts';

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
export const DNS_PORT = 53;
const DEFAULT_PORTS = { postgres: 5432, redis: 6379, dhan: 443 } as const;
/** The kubernetes Service's port and the port API servers listen on behind it (policies see the latter). */
const API_SERVER_PORTS = [443, 6443];

/** Port of each `host:port` in a comma-separated bootstrap list (9092 when a host names none). */
export function bootstrapPorts(bootstrapServers: string): number[] {
  const ports = bootstrapServers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const m = /:(\d+)$/.exec(s);
      return m ? Number(m[1]) : 9092;
    });
  return [...new Set(ports)].sort((a, b) => a - b);
}

/** Port of a redis:// or rediss:// URL (6379 when it names none or does not parse). */
export function redisPort(url: string): number {
  try {
    const port = new URL(url).port;
    return port ? Number(port) : DEFAULT_PORTS.redis;
  } catch {
    return DEFAULT_PORTS.redis;
  }
}

type Destination = { ports?: number[]; cidrs?: string[] };

function egressTo(dest: Destination, fallbackPorts: number[]): V1NetworkPolicyEgressRule {
  const ports = (dest.ports && dest.ports.length > 0 ? dest.ports : fallbackPorts).map((port) => ({ protocol: 'TCP', port }));
  const cidrs = dest.cidrs ?? [];
  return { ports, ...(cidrs.length > 0 ? { to: cidrs.map((cidr) => ({ ipBlock: { cidr } })) } : {}) };
}

/** Who may call MarketData and read metrics. */
function ingressPeers(feed: MarketFeed): V1NetworkPolicyPeer[] {
  const np = feed.spec.networkPolicy;
  const peers: V1NetworkPolicyPeer[] = [
    { podSelector: { matchLabels: { [np.clientLabel]: 'true' } } },
    { podSelector: { matchLabels: { [LABEL_NAME]: 'gateway', [LABEL_INSTANCE]: feed.metadata.name } } },
  ];
  if (np.monitoringNamespace) {
    peers.push({ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: np.monitoringNamespace } } });
  }
  return peers;
}

export function networkPolicy(feed: MarketFeed): DesiredNetworkPolicy {
  const spec = feed.spec;
  const egress = spec.networkPolicy.egress;
  const rules: V1NetworkPolicyEgressRule[] = [
    // DNS: every name above (brokers, databases, Dhan) is resolved first.
    {
      ports: [
        { protocol: 'UDP', port: DNS_PORT },
        { protocol: 'TCP', port: DNS_PORT },
      ],
    },
    egressTo(egress.kafka, bootstrapPorts(spec.kafka.bootstrapServers)),
    egressTo(egress.postgres, [DEFAULT_PORTS.postgres]),
    egressTo(egress.redis, [redisPort(spec.redis.url)]),
  ];
  if (spec.source.type === 'dhan') rules.push(egressTo(egress.dhan, [DEFAULT_PORTS.dhan]));
  // Storage and ingestion fetch the cluster's JWKS (https://kubernetes.default.svc/openid/v1/jwks);
  // a Dhan ingestion posts IngestionGap Events (the Role of gapEventsRbac).
  if (spec.auth?.serviceAccountIssuer || spec.source.type === 'dhan') rules.push(egressTo(egress.apiServer, API_SERVER_PORTS));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: objectMeta(feed, `${feed.metadata.name}-stockify`, 'stockify'),
    spec: {
      // The three components only: other pods of the instance (the gateway) have their own policy.
      podSelector: {
        matchLabels: { [LABEL_INSTANCE]: feed.metadata.name, [LABEL_MANAGED_BY]: MANAGED_BY },
        matchExpressions: [{ key: LABEL_NAME, operator: 'In', values: [...COMPONENTS] }],
      },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        {
          from: ingressPeers(feed),
          ports: [
            { protocol: 'TCP', port: GRPC_PORT },
            { protocol: 'TCP', port: METRICS_PORT },
          ],
        },
      ],
      egress: rules,
    },
  };
}
