// Compute resources of every container the operator runs: defaults per component, sized from
// measurements, under what the MarketFeed sets (spec.<component>.resources), key by key. A memory
// limit is always set: a pod without one can take a node's memory, and a scheduler that sees only
// requests under-reserves. No CPU limit: CPU is compressible, and a CFS quota throttles a consumer
// in bursts (market open) when the node has CPU to spare; the HPA scales on the CPU request.
import type { V1ResourceRequirements } from '@kubernetes/client-node';
import type { Component } from '../../services/core/names.ts';

/** What the MarketFeed may set per component (cpu, memory as quantities or bare numbers). */
export interface ResourceSpec {
  requests?: Record<string, number | string>;
  limits?: Record<string, number | string>;
}

export type SizedComponent = Component | 'gateway';

/**
 * Defaults per component. Measured with `node tests/bench/operator/footprint.ts` (peak resident set,
 * VmHWM, start-up included, of the real processes launched from these builders: one shard of 50
 * equities; 2026-11-30, 2 cores; a bare `node` 41.9 MiB in the same run), and the peaks of
 * `make bench`'s end-to-end throughput phase (as fast as ingestion can send, ~24,000 ticks/s):
 *
 *   component   idle (1 tick/s)   1,000 ticks/s   as fast as possible   request   limit
 *   ingestion   207 MiB           281 MiB         351 MiB               320Mi     768Mi
 *   processor   161 MiB           204 MiB         437 MiB               256Mi     1Gi
 *   storage     180 MiB           295 MiB         348 (405–442 serving queries)   320Mi   1Gi
 *   gateway     154 MiB (idle)    —               —                     192Mi     512Mi
 *
 * Request ≈ the peak at 1,000 ticks/s, rounded up: what a pod really holds in market hours, so the
 * scheduler reserves it. Limit ≥ 2× the highest peak seen (2.2× for ingestion, 2.3× processor and
 * storage, 3.3× the idle gateway): room for a burst, a replay after a restart, query load; an
 * OOM-killed pod loses its place in the stream. CPU requests stay at 100m (the HPA's utilisation is
 * usage over request, and the nodes it runs on are packed by CPU).
 */
export const DEFAULT_RESOURCES: Readonly<Record<SizedComponent, Required<ResourceSpec>>> = {
  ingestion: { requests: { cpu: '100m', memory: '320Mi' }, limits: { memory: '768Mi' } },
  processor: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
  storage: { requests: { cpu: '100m', memory: '320Mi' }, limits: { memory: '1Gi' } },
  gateway: { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '512Mi' } },
};

const UNITS: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A Kubernetes quantity as a number of base units (bytes for memory), NaN when unreadable. */
export function quantityValue(q: number | string): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(q);
  return m ? Number(m[1]) * (UNITS[m[2] ?? ''] ?? Number.NaN) : Number.NaN;
}

const strings = (m: Record<string, number | string>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));

/**
 * The container's resources: the component's defaults overridden key by key by the spec. A memory
 * request set above the default limit raises the limit to it; a memory limit set below the default
 * request lowers the request to it (the API server refuses a request above its limit).
 */
export function containerResources(component: SizedComponent, spec: ResourceSpec | undefined): V1ResourceRequirements {
  const d = DEFAULT_RESOURCES[component];
  const requests = { ...d.requests, ...spec?.requests };
  const limits = { ...d.limits, ...spec?.limits };
  const request = requests.memory;
  const limit = limits.memory;
  if (request !== undefined && limit !== undefined && quantityValue(request) > quantityValue(limit)) {
    if (spec?.limits?.memory === undefined) limits.memory = request;
    else if (spec?.requests?.memory === undefined) requests.memory = limit;
  }
  return { requests: strings(requests), limits: strings(limits) };
}
