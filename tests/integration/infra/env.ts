// Shared helpers of the infrastructure integration tests: the endpoints come from the environment
// that infra/with-infra.sh (make test-integration) exports.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through infra/with-infra.sh (make test-integration)`);
  }
  return value;
}

/** A suffix that keeps names of one run apart from earlier runs against the same services. */
export const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;

/** The versions pinned in infra/versions.env (KUBE_VERSION, HELM_VERSION, ...). */
export function pinnedVersions(): Record<string, string> {
  const file = fileURLToPath(new URL('../../../infra/versions.env', import.meta.url));
  const versions: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line);
    if (m?.[1] && m[2]) versions[m[1]] = m[2];
  }
  return versions;
}

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await sleep(250);
  }
}
