// The gateway's environment, parsed once: bad config is one line naming the variable, exit code 2.
import { z } from 'zod';
import { type AuthConfig, authConfigFromEnv } from '../core/auth.ts';
import { ConfigError, loadConfig } from '../core/config.ts';
import { registerUrlSecret } from '../core/redact.ts';

const hostPort = /^[^\s,]+:\d{1,5}$/;
const list = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const gatewaySchema = {
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MARKETDATA_ENDPOINT: z.string().regex(hostPort, 'must be host:port').default('localhost:50051'),
  STATUS_ENDPOINTS: z
    .string()
    .optional()
    .transform(list)
    .refine((l) => l.every((e) => hostPort.test(e)), 'must be host:port[,host:port...]'),
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform(list)
    .refine((l) => l.every((o) => /^https?:\/\/[^/]+$/.test(o)), 'must be origins like https://console.example.com'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  CONSOLE_DIR: z.string().optional(),
  LIVE_HIGH_WATER_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  LIVE_MAX_BEHIND_MS: z.coerce.number().int().min(100).default(10_000),
  LIVE_MAX_INSTRUMENTS: z.coerce.number().int().min(1).default(1000),
} as const;

type GatewayEnv = { [K in keyof typeof gatewaySchema]: z.output<(typeof gatewaySchema)[K]> };

export interface GatewayConfig extends GatewayEnv {
  REDIS_URL: string;
  FEED_NAME: string;
  FEED_NAMESPACE: string;
  LOG_LEVEL: string;
  auth: AuthConfig | undefined;
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const core = loadConfig(['REDIS_URL', 'FEED_NAME', 'FEED_NAMESPACE', 'LOG_LEVEL'], env);
  registerUrlSecret(env.REDIS_URL);
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(gatewaySchema)) {
    const raw = env[name] === '' ? undefined : env[name];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) throw new ConfigError(name, `is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}`);
    out[name] = parsed.data;
  }
  let auth: AuthConfig | undefined;
  try {
    auth = authConfigFromEnv(env);
  } catch (err) {
    const [variable, ...rest] = (err as Error).message.split(': ');
    throw new ConfigError(variable ?? 'AUTH', `is invalid: ${rest.join(': ')}`);
  }
  return { ...core, ...(out as GatewayEnv), auth };
}
