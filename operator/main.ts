// `stockify operator`: runs the MarketFeed operator against the cluster of KUBECONFIG (or the
// in-cluster service account) until SIGTERM.
import { parseCommand } from '../services/core/cli.ts';
import { loadConfig } from '../services/core/config.ts';
import { Lifecycle } from '../services/core/lifecycle.ts';
import { createLogger } from '../services/core/log.ts';
import { startOperator } from './controller/operator.ts';

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
  WATCH_NAMESPACE           watch one namespace only (default: all)
  METRICS_PORT              /metrics, /healthz, /readyz (default 9464)
  LOG_LEVEL                 fatal|error|warn|info|debug|trace (default info)
  POD_NAME, POD_NAMESPACE   lease identity and default lease namespace
  STOCKIFY_IMAGE            component image when spec.image is unset (default stockify:dev)`;

function fail(message: string): number {
  process.stderr.write(`stockify operator: ${message}\n`);
  return 2;
}

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    usage: USAGE,
    options: {
      'leader-elect': { type: 'string' },
      'lease-namespace': { type: 'string' },
      concurrency: { type: 'string' },
      'resync-seconds': { type: 'string' },
    },
  });
  if (!parsed.ok) return parsed.exitCode;
  const v = parsed.parsed.values;
  if (parsed.parsed.positionals.length > 0) return fail(`unexpected argument ${parsed.parsed.positionals[0]}\n\n${USAGE}`);
  const leaderElect = v['leader-elect'] ?? 'true';
  if (leaderElect !== 'true' && leaderElect !== 'false') return fail('--leader-elect must be true or false');
  const concurrency = Number(v.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)
    return fail('--concurrency must be an integer from 1 to 64');
  const resync = Number(v['resync-seconds'] ?? 300);
  if (!Number.isFinite(resync) || resync < 5) return fail('--resync-seconds must be a number ≥ 5');
  let config: { METRICS_PORT: number; LOG_LEVEL: string };
  try {
    config = loadConfig(['METRICS_PORT', 'LOG_LEVEL']);
  } catch (err) {
    return fail((err as Error).message);
  }
  const watchNamespace = process.env.WATCH_NAMESPACE || undefined;
  if (watchNamespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(watchNamespace))
    return fail('config: WATCH_NAMESPACE must be a DNS label');

  const log = createLogger({ component: 'operator', level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(log);
  let operator: Awaited<ReturnType<typeof startOperator>>;
  try {
    operator = await startOperator({
      log,
      leaderElect: leaderElect === 'true',
      ...(v['lease-namespace'] ? { leaseNamespace: v['lease-namespace'] } : {}),
      ...(watchNamespace ? { namespace: watchNamespace } : {}),
      concurrency,
      resyncMs: resync * 1000,
      metricsPort: config.METRICS_PORT,
    });
  } catch (err) {
    process.stderr.write(`stockify operator: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  log.info(
    { identity: operator.identity, metricsPort: operator.metrics?.port, namespace: watchNamespace ?? '(all)' },
    'operator started',
  );
  lifecycle.onStop('operator', () => operator.stop());
  await lifecycle.handleSignals();
  return 0;
}
