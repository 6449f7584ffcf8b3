// The environment the operator reads besides the shared variables (METRICS_PORT, LOG_LEVEL):
// parsed once, at start, into typed values. Bad config: one line naming the variable.
import { z } from 'zod';
import { ConfigError } from '../../services/core/config.ts';
import { isDnsLabel } from '../../services/core/names.ts';

const dnsLabel = z.string().refine(isDnsLabel, 'must be a DNS label (lowercase letters, digits, -; at most 63)');

export const operatorEnvSchema = z.object({
  /**
   * Watch MarketFeeds (and their objects and Secrets) in these namespaces only, comma-separated
   * (`markets,markets-test`); every namespace when unset.
   */
  WATCH_NAMESPACE: z
    .string()
    .transform((v) => [
      ...new Set(
        v
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n.length > 0),
      ),
    ])
    .pipe(z.array(dnsLabel))
    .optional(),
  /**
   * Watch the Secrets of the watched namespaces ("true"), so a changed Secret a feed names is picked
   * up at once; needs list and watch on Secrets there (the chart's watchNamespaces Roles grant it).
   */
  WATCH_SECRETS: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  /** Lease identity (the downward API's metadata.name). */
  POD_NAME: z.string().min(1).optional(),
  /** Default namespace of the Lease (the downward API's metadata.namespace). */
  POD_NAMESPACE: dnsLabel.optional(),
  /** Component image when spec.image is unset. */
  STOCKIFY_IMAGE: z.string().min(1).optional(),
});

export type OperatorEnv = z.output<typeof operatorEnvSchema>;

/** The operator's variables from `env` (empty counts as unset); throws ConfigError naming the first bad one. */
export function loadOperatorEnv(env: NodeJS.ProcessEnv = process.env): OperatorEnv {
  const raw: Record<string, string> = {};
  for (const name of Object.keys(operatorEnvSchema.shape)) {
    const value = env[name];
    if (value) raw[name] = value;
  }
  const parsed = operatorEnvSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(String(issue?.path[0] ?? '(environment)'), `is invalid: ${issue?.message ?? 'bad value'}`);
}
