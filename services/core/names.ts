// Names every layer shares: the pipeline's components and what a valid Kubernetes name is. Pure.

/** The components of one shard, in pipeline order. */
export const COMPONENTS = ['ingestion', 'processor', 'storage'] as const;
export type Component = (typeof COMPONENTS)[number];

/** An RFC 1123 DNS label (feed names, namespaces, Secret names): the API server's own rule. */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);
export const DNS_LABEL_MAX = 63;

export const isDnsLabel = (v: string): boolean => v.length <= DNS_LABEL_MAX && DNS_LABEL.test(v);
