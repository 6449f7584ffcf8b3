// The objects the builders produce, typed with @kubernetes/client-node's models: kind and apiVersion
// fixed, metadata and spec always present. They stay plain JSON (no class instances) for
// server-side apply; only types are imported, so no client code loads.
import type {
  V1ConfigMap,
  V1Deployment,
  V1DeploymentSpec,
  V1NetworkPolicy,
  V1NetworkPolicyIngressRule,
  V1NetworkPolicyPeer,
  V1NetworkPolicySpec,
  V1OwnerReference,
  V1PodDisruptionBudget,
  V1PodDisruptionBudgetSpec,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
  V1ServiceSpec,
  V2HorizontalPodAutoscaler,
  V2HorizontalPodAutoscalerSpec,
} from '@kubernetes/client-node';

/** Metadata every built object carries. */
export interface DesiredMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
}

type Desired<Model, ApiVersion extends string, Kind extends string> = Omit<
  Model,
  'apiVersion' | 'kind' | 'metadata' | 'status'
> & {
  apiVersion: ApiVersion;
  kind: Kind;
  metadata: DesiredMeta;
};

export type DesiredServiceAccount = Desired<V1ServiceAccount, 'v1', 'ServiceAccount'>;
export type DesiredConfigMap = Desired<V1ConfigMap, 'v1', 'ConfigMap'> & { data: Record<string, string> };
export type DesiredService = Desired<V1Service, 'v1', 'Service'> & { spec: V1ServiceSpec };
/** An ingress rule as sent on the wire: client-node's model names `from` `_from`, desired objects are plain JSON. */
export type WireIngressRule = Omit<V1NetworkPolicyIngressRule, '_from'> & { from?: V1NetworkPolicyPeer[] };
export type DesiredNetworkPolicy = Desired<V1NetworkPolicy, 'networking.k8s.io/v1', 'NetworkPolicy'> & {
  spec: Omit<V1NetworkPolicySpec, 'ingress'> & { ingress?: WireIngressRule[] };
};
export type DesiredDeployment = Desired<V1Deployment, 'apps/v1', 'Deployment'> & { spec: V1DeploymentSpec };
export type DesiredHpa = Desired<V2HorizontalPodAutoscaler, 'autoscaling/v2', 'HorizontalPodAutoscaler'> & {
  spec: V2HorizontalPodAutoscalerSpec;
};
export type DesiredPdb = Desired<V1PodDisruptionBudget, 'policy/v1', 'PodDisruptionBudget'> & {
  spec: V1PodDisruptionBudgetSpec;
};

export type DesiredRole = Desired<V1Role, 'rbac.authorization.k8s.io/v1', 'Role'>;
export type DesiredRoleBinding = Desired<V1RoleBinding, 'rbac.authorization.k8s.io/v1', 'RoleBinding'>;

/** Any object the operator owns for a feed; `kind` tells which. */
export type DesiredObject =
  | DesiredServiceAccount
  | DesiredConfigMap
  | DesiredService
  | DesiredNetworkPolicy
  | DesiredDeployment
  | DesiredHpa
  | DesiredPdb
  | DesiredRole
  | DesiredRoleBinding;

/**
 * The loose shape every desired object also has, for code that handles them alike (the reconciler
 * compares and applies them generically).
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: DesiredMeta;
  [field: string]: unknown;
}
