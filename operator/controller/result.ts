// What one reconcile tells the work queue, after controller-runtime's reconcile.Result.

/**
 * The outcome of reconciling one key.
 *
 * - `{}`: done. The key is forgotten (its back-off resets) and comes back only when a watched
 *   object changes or the periodic resync runs.
 * - `{ requeueAfterMs }`: done for now, look again in exactly that many milliseconds (a schedule
 *   boundary, a draining shard's next lag check). The back-off resets.
 * - `{ retry: true }`: something failed but was reported in status (Degraded); retry with the
 *   key's exponential back-off, or sooner if `requeueAfterMs` is shorter.
 * - A thrown error: like `retry`, and the error is logged and counted.
 *
 * A reconcile never sleeps or polls: waiting is always expressed as one of these results.
 */
export type ReconcileResult = { requeueAfterMs?: number; retry?: boolean };
