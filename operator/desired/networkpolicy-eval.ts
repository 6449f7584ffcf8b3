// Who may connect to whom under a set of NetworkPolicies: the Kubernetes semantics for the cases
// the feed policy uses (pod and namespace selectors with matchLabels/matchExpressions, ipBlock
// with except for IPv4, numeric ports with protocol and endPort). Pure: the unit tests read the
// policy the operator builds (or the API server returns from a dry run) and ask it questions, since
// the local CNI does not enforce policies.
import type {
  V1LabelSelector,
  V1NetworkPolicyEgressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';

/** A NetworkPolicy as JSON (`from`) or as client-node's model (`_from`): both are read. */
export interface Policy {
  metadata?: { namespace?: string; name?: string };
  spec?: {
    podSelector?: V1LabelSelector;
    policyTypes?: string[];
    ingress?: { from?: V1NetworkPolicyPeer[]; _from?: V1NetworkPolicyPeer[]; ports?: V1NetworkPolicyPort[] }[];
    egress?: V1NetworkPolicyEgressRule[];
  };
}

export interface Endpoint {
  namespace: string;
  /** Pod labels; absent for an address outside the cluster. */
  labels?: Record<string, string>;
  /** Labels of the pod's namespace (kubernetes.io/metadata.name is added). */
  namespaceLabels?: Record<string, string>;
  ip?: string;
}

export interface Connection {
  from: Endpoint;
  to: Endpoint;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export function selectorMatches(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === 'In'
        ? has && values.includes(value ?? '')
        : e.operator === 'NotIn'
          ? !has || !values.includes(value ?? '')
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function ipv4(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const b = Number(p);
    if (!/^\d{1,3}$/.test(p) || b > 255) return undefined;
    n = n * 256 + b;
  }
  return n;
}

export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', bitsText = '32'] = cidr.split('/');
  const a = ipv4(ip);
  const b = ipv4(base);
  const bits = Number(bitsText);
  if (a === undefined || b === undefined) return false;
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(a / size) === Math.floor(b / size);
}

const nsLabels = (e: Endpoint): Record<string, string> => ({
  ...e.namespaceLabels,
  'kubernetes.io/metadata.name': e.namespace,
});

/** Whether `peer` (a rule's from/to entry, in the policy's namespace) covers endpoint `e`. */
function peerMatches(peer: V1NetworkPolicyPeer, policyNamespace: string, e: Endpoint): boolean {
  if (peer.ipBlock) {
    if (!e.ip || !inCidr(e.ip, peer.ipBlock.cidr)) return false;
    return !(peer.ipBlock.except ?? []).some((x) => inCidr(e.ip as string, x));
  }
  if (!e.labels) return false; // selectors select pods only
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, nsLabels(e))) return false;
  } else if (e.namespace !== policyNamespace) {
    return false;
  }
  return selectorMatches(peer.podSelector, e.labels);
}

function portMatches(ports: V1NetworkPolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port !== 'number') return false; // named ports: not used by the feed policy
    return p.endPort === undefined ? port === p.port : port >= p.port && port <= p.endPort;
  });
}

const hasType = (p: Policy, type: 'Ingress' | 'Egress'): boolean =>
  (p.spec?.policyTypes ?? (type === 'Ingress' ? ['Ingress'] : p.spec?.egress ? ['Egress'] : [])).includes(type);

/** Policies of the endpoint's namespace that select it for this direction. */
function selecting(policies: readonly Policy[], e: Endpoint, type: 'Ingress' | 'Egress'): Policy[] {
  if (!e.labels) return []; // not a pod: no policy isolates it
  return policies.filter(
    (p) => p.metadata?.namespace === e.namespace && hasType(p, type) && selectorMatches(p.spec?.podSelector, e.labels ?? {}),
  );
}

export function ingressAllowed(policies: readonly Policy[], c: Connection): boolean {
  const isolating = selecting(policies, c.to, 'Ingress');
  if (isolating.length === 0) return true;
  const protocol = c.protocol ?? 'TCP';
  return isolating.some((p) =>
    (p.spec?.ingress ?? []).some(
      (rule) =>
        portMatches(rule.ports, c.port, protocol) &&
        ((rule.from ?? rule._from ?? []).length === 0 ||
          (rule.from ?? rule._from ?? []).some((peer) => peerMatches(peer, c.to.namespace, c.from))),
    ),
  );
}

export function egressAllowed(policies: readonly Policy[], c: Connection): boolean {
  const isolating = selecting(policies, c.from, 'Egress');
  if (isolating.length === 0) return true;
  const protocol = c.protocol ?? 'TCP';
  return isolating.some((p) =>
    (p.spec?.egress ?? []).some(
      (rule) =>
        portMatches(rule.ports, c.port, protocol) &&
        (!rule.to || rule.to.length === 0 || rule.to.some((peer) => peerMatches(peer, c.from.namespace, c.to))),
    ),
  );
}

/** A connection goes through when the source may send it and the destination may accept it. */
export const allowed = (policies: readonly Policy[], c: Connection): boolean =>
  egressAllowed(policies, c) && ingressAllowed(policies, c);
