// The hash of the Secret values a component reads (PostgreSQL URL for storage, Dhan credentials for
// ingestion), on its pod template: a rotated Secret rolls exactly the pods that use it, the way the
// shard file's hash rolls them on a new instrument list. The operator reads the Secrets; render,
// which has no cluster, leaves the annotation out.
import type { Component } from './meta.ts';
import type { DesiredDeployment } from './objects.ts';

export const ANNOTATION_SECRET_HASH = 'stockify.io/secret-hash';

/** Hash of the referenced Secret keys by component; components reading no Secret have none. */
export type SecretHashes = Partial<Record<Component, string>>;

export function withSecretHash(d: DesiredDeployment, hash: string | undefined): DesiredDeployment {
  if (hash === undefined) return d;
  const template = d.spec.template;
  return {
    ...d,
    spec: {
      ...d.spec,
      template: {
        ...template,
        metadata: { ...template.metadata, annotations: { ...template.metadata?.annotations, [ANNOTATION_SECRET_HASH]: hash } },
      },
    },
  };
}
