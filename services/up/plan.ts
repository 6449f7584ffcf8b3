// From the processes the operator's builders describe (operator/desired standaloneProcesses: the
// args, env and shard file of each built Deployment) to what `stockify up` runs locally. Pure: no
// sharding or configuration logic lives here, only the translation from pod to local process.
import { join } from 'node:path';
import type { MarketFeed } from '../../operator/crd/types.ts';
import { gatewayDeployment } from '../../operator/desired/gateway.ts';
import type { StandaloneProcess } from '../../operator/desired/index.ts';
import { instrumentId, type Segment } from '../core/messages.ts';

// Kept for importers outside services/up (the e2e bench) until they import core/names.ts.
export type { Component } from '../core/names.ts';

import { COMPONENTS, type Component } from '../core/names.ts';

/** Variables that point at shared services: always taken from the environment of `stockify up`. */
export const SERVICE_VARIABLES = ['KAFKA_BROKERS', 'DATABASE_URL', 'REDIS_URL'] as const;

/**
 * Variables of `stockify up` that every child sees, as a pod sees its image's environment (and
 * DB_SCHEMA, to keep a local run's tables apart); nothing else leaks in, so a child runs with
 * exactly the Deployment's configuration.
 */
export const PASSTHROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'TZ',
  'LANG',
  'LC_ALL',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'DB_SCHEMA',
] as const;

export interface ProcessPlan {
  /** The Deployment it stands for: <feed>-<component>-<shard>. */
  name: string;
  component: Component;
  shard: number;
  /** Arguments after `stockify` (the container args: the component subcommand first). */
  args: string[];
  /** The whole environment of the process, without METRICS_PORT and GRPC_PORT (see withPorts). */
  env: Record<string, string>;
  /** Where the shard file goes, and its content (the ConfigMap's shard.json). */
  shardFile: { path: string; content: string };
  logFile: string;
}

export interface PlanContext {
  feed: string;
  /** Environment of `stockify up`: service URLs and secret values come from here. */
  env: Readonly<Record<string, string | undefined>>;
  /** Directory of the shard files (.local/up/<feed>). */
  stateDir: string;
  /** Directory of the log files (.local/logs). */
  logDir: string;
}

export class PlanError extends Error {}

/**
 * Local processes for the built ones: service URLs and Secret values from the environment, the
 * shard file written locally, logs to files. Throws PlanError naming the first variable missing.
 */
export function planProcesses(processes: readonly StandaloneProcess[], ctx: PlanContext): ProcessPlan[] {
  const plans: ProcessPlan[] = [];
  for (const p of processes) {
    const shardPath = join(ctx.stateDir, `shard-${p.shard}.json`);
    const env: Record<string, string> = {};
    for (const name of PASSTHROUGH) {
      const v = ctx.env[name];
      if (v !== undefined) env[name] = v;
    }
    for (const name of Object.keys(ctx.env)) {
      const v = ctx.env[name];
      if (name.startsWith('OTEL_') && v !== undefined) env[name] = v;
    }
    Object.assign(env, p.env);
    // The Deployment's Node options (heap sizing) first, the caller's after them: theirs win.
    const callerNodeOptions = ctx.env.NODE_OPTIONS;
    if (p.env.NODE_OPTIONS && callerNodeOptions) env.NODE_OPTIONS = `${p.env.NODE_OPTIONS} ${callerNodeOptions}`;
    for (const name of SERVICE_VARIABLES) {
      if (!(name in p.env) && !p.secretEnv.some((s) => s.name === name)) continue;
      const value = ctx.env[name];
      if (!value) {
        throw new PlanError(
          `${name} is not set: \`stockify up\` runs against your own services (\`make run\` sets it from the local ones)`,
        );
      }
      env[name] = value;
    }
    for (const s of p.secretEnv) {
      if ((SERVICE_VARIABLES as readonly string[]).includes(s.name)) continue;
      const value = ctx.env[s.name];
      if (value === undefined && s.optional) continue;
      if (value === undefined) {
        throw new PlanError(
          `${s.name} is not set: in a cluster it comes from Secret ${s.secret} (key ${s.key}); export it to run locally`,
        );
      }
      env[s.name] = value;
    }
    env.INSTRUMENTS_FILE = shardPath;
    delete env.METRICS_PORT;
    delete env.GRPC_PORT;
    plans.push({
      name: p.name,
      component: p.component,
      shard: p.shard,
      args: [...p.args],
      env,
      shardFile: { path: shardPath, content: `${JSON.stringify(p.shardFile, null, 2)}\n` },
      logFile: join(ctx.logDir, `${ctx.feed}-${p.component}-${p.shard}.log`),
    });
  }
  return plans.sort((a, b) => a.shard - b.shard || COMPONENTS.indexOf(a.component) - COMPONENTS.indexOf(b.component));
}

/** The plan with its own ports. */
export function withPorts(plan: ProcessPlan, ports: { metrics: number; grpc: number }): ProcessPlan {
  return { ...plan, env: { ...plan.env, METRICS_PORT: String(ports.metrics), GRPC_PORT: String(ports.grpc) } };
}

/** The gateway of spec.gateway as a local process: one, whatever the Deployment's replicas. */
export interface GatewayPlan {
  name: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** Where it serves: http://127.0.0.1:<port>. */
  url: string;
}

/**
 * The built gateway Deployment's container as a local process: its args and env, with MarketData
 * on the local storage shard 0, /v1/status from every local process, Redis and Secret values from
 * the environment of `stockify up`. Undefined without spec.gateway.
 */
export function planGateway(
  feed: MarketFeed,
  ctx: PlanContext,
  local: { grpcEndpoints: readonly string[]; httpPort: number },
): GatewayPlan | undefined {
  const container = gatewayDeployment(feed)?.spec.template?.spec?.containers[0];
  if (!container?.args) return undefined;
  const env: Record<string, string> = {};
  for (const name of PASSTHROUGH) {
    const v = ctx.env[name];
    if (v !== undefined) env[name] = v;
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (ref) {
      const value = ctx.env[e.name];
      if (value === undefined) {
        throw new PlanError(
          `${e.name} is not set: in a cluster it comes from Secret ${ref.name} (key ${ref.key}); export it to run locally`,
        );
      }
      env[e.name] = value;
    }
  }
  const redis = ctx.env.REDIS_URL;
  if (!redis) throw new PlanError('REDIS_URL is not set: the gateway streams from Redis (`make run` sets it from the local one)');
  env.REDIS_URL = redis;
  env.MARKETDATA_ENDPOINT = local.grpcEndpoints[0] ?? 'localhost:50051';
  env.STATUS_ENDPOINTS = local.grpcEndpoints.join(',');
  env.HTTP_PORT = String(local.httpPort);
  return {
    name: `${ctx.feed}-gateway`,
    args: [...container.args],
    env,
    logFile: join(ctx.logDir, `${ctx.feed}-gateway.log`),
    url: `http://127.0.0.1:${local.httpPort}`,
  };
}

/** An instrument as the MarketFeed lists it (only what the view needs). */
export interface ListedInstrument {
  symbol: string;
  segment: Segment;
  securityId: string;
  kind: string;
  optionChain?: unknown;
}

/**
 * What the view watches, in the order of the MarketFeed: the levels of its indices (of its first
 * instruments when it lists no index) and the option chain of the first underlying that has one.
 */
export function watchedInstruments(
  instruments: readonly ListedInstrument[],
  maxLevels = 6,
): {
  levels: { symbol: string; instrumentId: string }[];
  chain?: { symbol: string; instrumentId: string };
} {
  const ref = (i: ListedInstrument) => ({ symbol: i.symbol, instrumentId: instrumentId(i.segment, i.securityId) });
  const indices = instruments.filter((i) => i.kind === 'index');
  const levels = (indices.length > 0 ? indices : instruments).slice(0, maxLevels).map(ref);
  const withChain = instruments.find((i) => i.optionChain !== undefined);
  return { levels, ...(withChain ? { chain: ref(withChain) } : {}) };
}
