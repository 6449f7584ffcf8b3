// `stockify operator`: runs the MarketFeed operator against the cluster of KUBECONFIG (or the
// in-cluster service account) until SIGTERM. Wiring only: flags and environment in, operator started.
import { z } from 'zod';
import { flagValue, numberFlag, parseCommand } from '../services/core/cli.ts';
import { type Config, loadConfig, reportConfigError } from '../services/core/config.ts';
import { Lifecycle } from '../services/core/lifecycle.ts';
import { createLogger } from '../services/core/log.ts';
import { loadOperatorEnv, type OperatorEnv } from './controller/config.ts';
import { type RunningOperator, startOperator } from './controller/operator.ts';

const USAGE = `Usage: stockify operator [--leader-elect=true|false] [--lease-namespace <ns>] [--concurrency <n>]

Reconciles MarketFeed resources (stockify.io/v1alpha1) into Deployments, ConfigMaps, HPAs,
Services, PDBs and Kafka topics.

Options:
  --leader-elect <bool>     campaign for the coordination.k8s.io Lease before acting (default true)
  --lease-namespace <ns>    namespace of the Lease (default $POD_NAMESPACE or default)
  --concurrency <n>         MarketFeeds reconciled in parallel (default 4)
  --resync-seconds <n>      re-check every MarketFeed this often (default 300)
  -h, --help                this help

Environment:
  KUBECONFIG                kubeconfig file; in-cluster service account when unset
  WATCH_NAMESPACE           watch these namespaces only, comma-separated (default: all)
  WATCH_SECRETS             true: watch their Secrets too (needs list/watch on Secrets there)
  METRICS_PORT              /metrics, /healthz, /readyz (default 9464)
  LOG_LEVEL                 fatal|error|warn|info|debug|trace (default info)
  POD_NAME, POD_NAMESPACE   lease identity and default lease namespace
  STOCKIFY_IMAGE            component image when spec.image is unset (default stockify:dev)`;

const OPTIONS = {
  'leader-elect': { type: 'string' },
  'lease-namespace': { type: 'string' },
  concurrency: { type: 'string' },
  'resync-seconds': { type: 'string' },
} as const;

const BOOLEANS = new Map([
  ['true', true],
  ['false', false],
]);

const flagSchema = z.object({
  'leader-elect': flagValue('true or false', (t) => BOOLEANS.get(t)).default(true),
  concurrency: numberFlag('an integer from 1 to 64', (n) => Number.isInteger(n) && n >= 1 && n <= 64).default(4),
  'resync-seconds': numberFlag('a number ≥ 5', (n) => n >= 5).default(300),
});

export async function run(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { usage: USAGE, options: OPTIONS, schema: flagSchema });
  if (!cmd.ok) return cmd.exitCode;
  const { flags, positionals } = cmd.parsed;
  if (positionals.length > 0) {
    process.stderr.write(`stockify operator: unexpected argument ${positionals[0]}\n\n${USAGE}\n`);
    return 2;
  }
  let config: Config<'METRICS_PORT' | 'LOG_LEVEL'>;
  let env: OperatorEnv;
  try {
    config = loadConfig(['METRICS_PORT', 'LOG_LEVEL']);
    env = loadOperatorEnv();
  } catch (err) {
    return reportConfigError(err);
  }
  const log = createLogger({ component: 'operator', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  const leaseNamespace = flags['lease-namespace'] ?? env.POD_NAMESPACE;
  let operator: RunningOperator;
  try {
    operator = await startOperator({
      log,
      leaderElect: flags['leader-elect'],
      ...(leaseNamespace ? { leaseNamespace } : {}),
      ...(env.WATCH_NAMESPACE ? { namespaces: env.WATCH_NAMESPACE } : {}),
      ...(env.WATCH_SECRETS ? { watchSecrets: true } : {}),
      ...(env.POD_NAME ? { identity: env.POD_NAME } : {}),
      ...(env.STOCKIFY_IMAGE ? { image: env.STOCKIFY_IMAGE } : {}),
      concurrency: flags.concurrency,
      resyncMs: flags['resync-seconds'] * 1000,
      metricsPort: config.METRICS_PORT,
    });
  } catch (err) {
    process.stderr.write(`stockify operator: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  const namespace = env.WATCH_NAMESPACE?.join(',') ?? '(all)';
  log.info({ identity: operator.identity, metricsPort: operator.metrics?.port, namespace }, 'operator started');
  lifecycle.onStop('operator', () => operator.stop());
  await lifecycle.handleSignals();
  return 0;
}
