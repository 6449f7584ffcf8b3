// What went wrong during one reconcile, in the words the Degraded condition and its Event use.

/** Every reason a feed can be Degraded for: a closed list, so dashboards and alerts can match on it. */
export const PROBLEM_REASONS = [
  'ApplyFailed',
  /** The feed does not fit the Dhan account it shares with other feeds (its credentials Secret). */
  'DhanBudgetExceeded',
  'DrainFailed',
  'InvalidSpec',
  'InvalidTimezone',
  'KafkaUnreachable',
  'SecretKeyMissing',
  'SecretNotFound',
  'SecretUnreadable',
] as const;
export type ProblemReason = (typeof PROBLEM_REASONS)[number];

export interface Problem {
  reason: ProblemReason;
  message: string;
}

export const isProblemReason = (reason: string): reason is ProblemReason =>
  (PROBLEM_REASONS as readonly string[]).includes(reason);

/** A stable order, so the Degraded message (and so the status) is identical across retries. */
export function sortProblems(problems: readonly Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.reason.localeCompare(b.reason) || a.message.localeCompare(b.message));
}
