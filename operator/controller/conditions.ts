// metav1.Condition bookkeeping: lastTransitionTime moves only when the status flips.
import type { MarketFeedStatus } from '../crd/types.ts';

export type Condition = NonNullable<MarketFeedStatus['conditions']>[number];
export type ConditionType = 'Ready' | 'Progressing' | 'Degraded' | 'MarketOpen';

/** A condition as the API stores it; the closed vocabulary of our reasons is `FeedCondition` (status.ts). */
export interface ConditionInput {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** RFC 3339 to the second, as Kubernetes writes timestamps. */
export const rfc3339 = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The conditions after setting one, keeping lastTransitionTime unless its status changed. */
export function setCondition(
  conditions: readonly Condition[],
  input: ConditionInput,
  generation: number,
  now: Date,
): Condition[] {
  const previous = conditions.find((c) => c.type === input.type);
  const lastTransitionTime = previous && previous.status === input.status ? previous.lastTransitionTime : rfc3339(now);
  const next: Condition = { ...input, observedGeneration: generation, lastTransitionTime };
  return [...conditions.filter((c) => c.type !== input.type), next].sort((a, b) => a.type.localeCompare(b.type));
}

export function conditionOf(status: MarketFeedStatus | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}
