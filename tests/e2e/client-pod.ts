// A user's in-cluster client, as a pod: it reaches the feed through its Services by DNS name
// (<svc>.<ns>.svc.cluster.local: the local cluster's CoreDNS and kube-proxy) and, when asked, carries
// a projected ServiceAccount token of audience `stockify`, what spec.auth.serviceAccountIssuer
// verifies. The pod runs the stockify image itself (`stockify query …`, or Node for HTTP calls).
import { stringify } from 'yaml';
import { kubectl, kubectlBin, kubectlJson, run, waitFor } from './helpers.ts';

/** Where the projected token is mounted; `--token-file` reads it from here. */
export const TOKEN_FILE = '/var/run/secrets/stockify/token';
export const TOKEN_AUDIENCE = 'stockify';

export interface ClientPod {
  name: string;
  namespace: string;
  image: string;
  /** Arguments of the image's entrypoint (`stockify`), e.g. ['query', 'latest', …]. */
  args: string[];
  /** Replaces the entrypoint (e.g. ['/usr/local/bin/node', '-e', script]). */
  command?: string[];
  /** Mount a projected ServiceAccount token of audience `stockify` at TOKEN_FILE. */
  token: boolean;
  /** The label the feed's NetworkPolicy admits to MarketData (spec.networkPolicy.clientLabel). */
  clientLabel?: string;
  /** Set clientLabel=true on the pod (default); false: a pod the feed's NetworkPolicy does not admit. */
  client?: boolean;
}

export function clientPodManifest(p: ClientPod): Record<string, unknown> {
  const tokenDir = TOKEN_FILE.slice(0, TOKEN_FILE.lastIndexOf('/'));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      labels: {
        'app.kubernetes.io/name': 'e2e-client',
        ...(p.client === false ? {} : { [p.clientLabel ?? 'stockify.io/client']: 'true' }),
      },
    },
    spec: {
      restartPolicy: 'Never',
      // Only the token asked for, with the audience the feed verifies; never the API server's default one.
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'client',
          image: p.image,
          imagePullPolicy: 'Never',
          ...(p.command ? { command: p.command } : {}),
          args: p.args,
          resources: { requests: { cpu: '10m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          ...(p.token ? { volumeMounts: [{ name: 'token', mountPath: tokenDir, readOnly: true }] } : {}),
        },
      ],
      ...(p.token
        ? {
            volumes: [
              {
                name: 'token',
                projected: {
                  sources: [
                    {
                      serviceAccountToken: {
                        audience: TOKEN_AUDIENCE,
                        expirationSeconds: 600,
                        path: TOKEN_FILE.slice(tokenDir.length + 1),
                      },
                    },
                  ],
                },
              },
            ],
          }
        : {}),
    },
  };
}

interface PodStatus {
  status: { phase?: string; containerStatuses?: { state?: { terminated?: { exitCode: number } } }[] };
}

export interface ClientRun {
  exitCode: number;
  logs: string;
}

const logsOf = (p: ClientPod): Promise<string> => kubectl(['-n', p.namespace, 'logs', p.name]);
const remove = (p: ClientPod) =>
  run(kubectlBin, ['-n', p.namespace, 'delete', 'pod', p.name, '--ignore-not-found', '--wait=false']);

/** Runs the pod to completion; its exit code and its output (stdout and stderr). */
export async function runClientPod(p: ClientPod, timeoutMs = 120_000): Promise<ClientRun> {
  await kubectl(['apply', '-f', '-'], stringify(clientPodManifest(p)));
  try {
    const exitCode = await waitFor(
      `client pod ${p.name} to finish`,
      async () => {
        const pod = await kubectlJson<PodStatus>(['-n', p.namespace, 'get', 'pod', p.name]);
        if (pod.status.phase !== 'Succeeded' && pod.status.phase !== 'Failed') return undefined;
        return pod.status.containerStatuses?.[0]?.state?.terminated?.exitCode ?? -1;
      },
      timeoutMs,
      1_000,
    );
    return { exitCode, logs: await logsOf(p) };
  } finally {
    await remove(p);
  }
}

/** Starts a long-running client (a stream) and returns its output once `enough` says so; then deletes it. */
export async function watchClientPod(p: ClientPod, enough: (logs: string) => boolean, timeoutMs = 120_000): Promise<string> {
  await kubectl(['apply', '-f', '-'], stringify(clientPodManifest(p)));
  try {
    const seen = await waitFor(
      `output of client pod ${p.name}`,
      async () => {
        const pod = await kubectlJson<PodStatus>(['-n', p.namespace, 'get', 'pod', p.name]);
        const ended = pod.status.phase === 'Failed' || pod.status.phase === 'Succeeded';
        if (!ended && pod.status.phase !== 'Running') return undefined;
        const logs = await logsOf(p);
        return enough(logs) || ended ? { logs, ended: enough(logs) ? undefined : pod.status.phase } : undefined;
      },
      timeoutMs,
      1_000,
    );
    if (seen.ended)
      throw new Error(`client pod ${p.name} ended (${seen.ended}) before its output sufficed: ${seen.logs.slice(-500)}`);
    return seen.logs;
  } finally {
    await remove(p);
  }
}
