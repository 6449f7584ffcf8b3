// "Nothing we manage changed": every field we set is present with the same value in the live object.
// Fields the API server adds (defaults, status, clusterIP) do not count.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether every field we set is present with the same value in the live object. */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (isObject(desired)) {
    if (!isObject(live)) return false;
    return Object.entries(desired).every(([k, v]) => v === undefined || isSubset(v, live[k]));
  }
  if (Array.isArray(desired)) {
    return Array.isArray(live) && live.length === desired.length && desired.every((v, i) => isSubset(v, live[i]));
  }
  if (live instanceof Date) return typeof desired === 'string' && new Date(desired).getTime() === live.getTime();
  // Quantities and int-or-strings may come back as the other type.
  return desired === live || (desired !== undefined && live !== undefined && String(desired) === String(live));
}
