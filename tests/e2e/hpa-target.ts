// How the e2e drives the processor HPAs without depending on the machine's speed. An idle
// processor's CPU utilisation (usage / request) is whatever this machine makes of kafkajs's fetch
// loop, heartbeats and metrics: a slower machine shows a higher figure. Rather than a hand-tuned
// target that holds on one machine only, the scale-in phase measures the idle utilisation and sets
// a target that the HPA algorithm is certain to scale in with, and says what it measured.

/**
 * The HPA algorithm (autoscaling/v2): desired = ceil(replicas × utilisation / target), left alone
 * while |utilisation / target − 1| ≤ tolerance (10 % by default).
 */
export function desiredReplicas(replicas: number, utilisation: number, target: number, tolerance = 0.1): number {
  const ratio = utilisation / target;
  if (Math.abs(ratio - 1) <= tolerance) return replicas;
  return Math.ceil(replicas * ratio);
}

/**
 * The smallest whole-percent target, at least `floor`, with which `replicas` pods at up to
 * `headroom` × the highest measured idle utilisation are scaled in to one replica.
 */
export function scaleInTarget(idleUtilisations: readonly number[], replicas: number, floor: number, headroom = 1.5): number {
  if (idleUtilisations.length === 0) throw new Error('no idle utilisation measured: is metrics-server serving pod metrics?');
  const worst = Math.max(...idleUtilisations) * headroom;
  let target = Math.max(1, floor);
  while (desiredReplicas(replicas, worst, target) > 1) target += 1;
  return target;
}
