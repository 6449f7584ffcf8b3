// Finding and running helm and kubectl for the chart tests. Binaries: $HELM / $KUBECTL, else the
// versions pinned in infra/versions.env from the local cache, else PATH.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const chart = join(root, 'charts/stockify-operator');

function pinned(name: string): string | undefined {
  const env = readFileSync(join(root, 'infra/versions.env'), 'utf8');
  return new RegExp(`^${name}=(\\S+)`, 'm').exec(env)?.[1];
}
const cache = process.env.STOCKIFY_CACHE ?? join(homedir(), '.cache/stockify');

function locate(envVar: string, cached: string, name: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  if (existsSync(cached)) return cached;
  return name;
}

export const helmBin = locate('HELM', join(cache, 'helm', pinned('HELM_VERSION') ?? '', 'bin/helm'), 'helm');
export const kubectlBin = locate('KUBECTL', join(cache, 'kube', pinned('KUBE_VERSION') ?? '', 'bin/kubectl'), 'kubectl');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: string[], input?: string, env?: Record<string, string>): Result {
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    input,
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
  if (r.error) throw new Error(`${bin} ${args.join(' ')}: ${r.error.message}`);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and insists on exit 0, with the command's stderr in the failure. */
export function ok(bin: string, args: string[], input?: string): string {
  const r = run(bin, args, input);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const helm = (args: string[], input?: string): Result => run(helmBin, args, input);
export const kubectl = (args: string[], input?: string): Result => run(kubectlBin, args, input);

/** A DNS-label suffix unique to this run. */
export const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1296)
  .toString(36)
  .padStart(2, '0')}`;
