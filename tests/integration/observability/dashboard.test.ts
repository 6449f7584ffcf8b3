// The chart's dashboard and alert rules against a real Prometheus (Debian's package, unpacked into the
// cache by infra/prometheus/fetch.sh) scraping every process of `stockify up` on the simulator sample
// (what `make run` runs) plus an operator: every panel expression, template variables substituted,
// returns at least one series, and the chart's rules load and pass promtool.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { type RunningOperator, startOperator } from '../../../operator/controller/operator.ts';
import { createLogger } from '../../../services/core/log.ts';
import { serviceClient } from '../../../services/core/proto.ts';
import { chart, helmBin } from '../chart/tools.ts';
import { dropSchema, testPool } from '../storage/helpers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'services/cli.ts');
// This test's own ports: Prometheus, MarketData of storage shard 0, the operator's /metrics.
const PROMETHEUS_PORT = 40290;
const GRPC_PORT = 40291;
const OPERATOR_METRICS_PORT = 40292;
const PROM = `http://127.0.0.1:${PROMETHEUS_PORT}`;

const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const FEED = `obs-${suffix}`;
const SCHEMA = `obs_${suffix}`;
const dir = mkdtempSync(join(tmpdir(), 'stockify-observability-'));

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
}
const dashboard = JSON.parse(readFileSync(join(chart, 'dashboards/stockify.json'), 'utf8')) as Dashboard;

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(1_000);
  }
  throw new Error(`${what} did not happen in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

interface PromResult {
  metric: Record<string, string>;
  value: [number, string];
}
async function api<T>(path: string, params: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${PROM}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${path} ${JSON.stringify(params)}: ${body.error}`);
  return body.data;
}
const query = (expr: string): Promise<PromResult[]> =>
  api<{ result: PromResult[] }>('/api/v1/query', { query: expr }).then((d) => d.result);

/** The chart's alert groups as a Prometheus rule file (what the Prometheus Operator loads from the PrometheusRule). */
function renderRules(): string {
  const r = spawnSync(
    helmBin,
    ['template', 'x', chart, '--set', 'prometheusRule.enabled=true', '--show-only', 'templates/prometheusrule.yaml'],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(r.status, 0, r.stderr);
  const rule = parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as { kind: string; spec: { groups: unknown[] } })
    .find((o) => o?.kind === 'PrometheusRule');
  assert.ok(rule, 'the chart renders a PrometheusRule');
  return stringify({ groups: rule.spec.groups });
}

/** METRICS_PORT of every child of `stockify up` (read from /proc; kills nothing). */
function childMetricsPorts(parent: number): { port: number; component: string }[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' });
  const found: { port: number; component: string }[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+.*\s(\w+)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const env = readFileSync(`/proc/${m[1]}/environ`, 'utf8').split('\0');
    const port = env.find((e) => e.startsWith('METRICS_PORT='))?.split('=')[1];
    if (port) found.push({ port: Number(port), component: m[2] });
  }
  return found;
}

describe('dashboard and alerts against a real Prometheus scraping `stockify up`', { timeout: 420_000 }, () => {
  let bin = '';
  let up: ChildProcess | undefined;
  let upExited: Promise<unknown> = Promise.resolve();
  let prometheus: ChildProcess | undefined;
  let promExited: Promise<unknown> = Promise.resolve();
  let operator: RunningOperator | undefined;
  let targets: { port: number; component: string }[] = [];
  const upOutput: string[] = [];

  before(async () => {
    const fetched = spawnSync(join(ROOT, 'infra/prometheus/fetch.sh'), { encoding: 'utf8' });
    assert.equal(fetched.status, 0, fetched.stderr);
    bin = fetched.stdout.trim();

    // The simulator sample under a name of its own (its topics and tables apart from other runs).
    const sample = parse(readFileSync(join(ROOT, 'k8s/samples/simulator.yaml'), 'utf8')) as { metadata: { name: string } };
    sample.metadata.name = FEED;
    const feedFile = join(dir, 'feed.yaml');
    writeFileSync(feedFile, stringify(sample));
    up = spawn(process.execPath, [CLI, 'up', '-f', feedFile, '--duration', '400', '--grpc-port', String(GRPC_PORT)], {
      cwd: ROOT,
      env: { ...process.env, DB_SCHEMA: SCHEMA },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const child = up;
    upExited = new Promise((resolve) => child.once('exit', resolve));
    child.stdout?.on('data', (b: Buffer) => upOutput.push(b.toString()));
    child.stderr?.on('data', (b: Buffer) => upOutput.push(b.toString()));

    // An operator watching a namespace of its own (nothing to reconcile): its metrics are scraped too.
    operator = await startOperator({
      namespace: `obs-${suffix}`,
      leaderElect: false,
      metricsPort: OPERATOR_METRICS_PORT,
      log: createLogger({ component: 'operator', level: 'warn' }),
    });

    const pid = child.pid ?? 0;
    targets = await until(
      'six processes of stockify up started',
      async () => {
        const t = childMetricsPorts(pid);
        return t.length === 6 ? t : undefined;
      },
      60_000,
    );
    const rules = join(dir, 'rules.yml');
    writeFileSync(rules, renderRules());
    const config = {
      global: { scrape_interval: '2s', evaluation_interval: '2s' },
      rule_files: [rules],
      scrape_configs: [
        {
          job_name: 'stockify',
          static_configs: [
            { targets: targets.map((t) => `127.0.0.1:${t.port}`) },
            { targets: [`127.0.0.1:${OPERATOR_METRICS_PORT}`] },
          ],
        },
      ],
    };
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, stringify(config));
    prometheus = spawn(
      join(bin, 'prometheus'),
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const p = prometheus;
    promExited = new Promise((resolve) => p.once('exit', resolve));
  });

  after(async () => {
    await operator?.stop();
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await promExited;
    }
    if (up && up.exitCode === null) {
      up.kill('SIGTERM');
      await upExited;
    }
    if (process.env.OBS_TEST_DEBUG) process.stderr.write(upOutput.join(''));
    const pool = testPool(undefined, 1);
    await dropSchema(pool, SCHEMA).catch(() => {});
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  test('promtool accepts the chart rules, and Prometheus loaded every group without error', async () => {
    const r = spawnSync(join(bin, 'promtool'), ['check', 'rules', join(dir, 'rules.yml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: \d+ rules found/);
    const data = await until(
      'rules loaded',
      async () => {
        const d = await api<{ groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] }>(
          '/api/v1/rules',
        );
        return d.groups.length > 0 && d.groups.every((g) => g.rules.every((x) => x.health === 'ok')) ? d : undefined;
      },
      60_000,
    );
    const names = data.groups.flatMap((g) => g.rules.map((x) => x.name));
    assert.ok(names.includes('StockifyGrpcServerErrors'), names.join(', '));
    assert.ok(names.includes('StockifyDeadLetterRate'), names.join(', '));
  });

  test('every process of stockify up and the operator are scraped', async () => {
    const ups = await until(
      'all targets up',
      async () => {
        const r = await query('up');
        return r.length === targets.length + 1 && r.every((x) => x.value[1] === '1') ? r : undefined;
      },
      180_000,
    );
    assert.equal(ups.length, 7);
    const components = await query('count by (component) (process_cpu_seconds_total)');
    assert.deepEqual(components.map((c) => c.metric.component).sort(), ['ingestion', 'operator', 'processor', 'storage']);
  });

  test('every dashboard panel returns at least one series, template variables substituted', async () => {
    // Rows stored and some MarketData calls, OK and client mistakes, before evaluating.
    await until(
      'rows written',
      async () => ((await query('sum(stockify_storage_rows_written_total) > 0')).length ? true : undefined),
      180_000,
    );
    const MarketData = serviceClient('MarketData');
    const client = new MarketData(`127.0.0.1:${GRPC_PORT}`, grpc.credentials.createInsecure());
    const call = (method: string, req: unknown): Promise<number> =>
      new Promise((resolve) => {
        const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method]?.bind(client);
        fn?.(req, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null) => resolve(err ? err.code : 0));
      });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push(await call('GetLatest', { instruments: ['IDX_I:13', 'NSE_EQ:2885'] }));
      codes.push(await call('GetOptionChain', { underlying: 'IDX_I:13' }));
      codes.push(await call('GetOptionChain', { underlying: 'IDX_I:13', expiry: '2026-13-01' }));
    }
    client.close();
    assert.ok(codes.includes(grpc.status.OK), `codes ${codes.join(',')}`);
    assert.ok(codes.includes(grpc.status.INVALID_ARGUMENT), `codes ${codes.join(',')}`);
    // Two scrapes after the calls, so rates over them have two points.
    await sleep(6_000);

    // Template variables: each `label_values(selector, label)` answered by Prometheus, our feed among them.
    const vars: Record<string, string> = {};
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
      const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q);
      assert.ok(m?.[1] && m[2], `variable ${v.name}: ${q}`);
      const selector = m[1].replace(/\$(\w+)/g, (_, n: string) => vars[n] ?? '.*');
      const values = await api<string[]>(`/api/v1/label/${m[2]}/values`, { 'match[]': selector });
      const ours = v.name === 'feed' ? FEED : values[0];
      assert.ok(ours && values.includes(ours), `variable ${v.name} (${q}) offers ${values.join(', ')}`);
      vars[v.name] = ours;
    }

    const empty: string[] = [];
    let exprs = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        exprs++;
        const expr = target.expr.replace(/\$\{?(\w+)\}?/g, (all, n: string) => vars[n] ?? all);
        const result = await query(expr);
        if (result.length === 0) empty.push(`${panel.title}: ${expr}`);
      }
    }
    assert.ok(exprs >= 15, `${exprs} panel expressions`);
    assert.deepEqual(empty, [], `panels without data:\n${empty.join('\n')}`);

    // The API row saw the calls: OK and INVALID_ARGUMENT by method on the feed's storage.
    const handled = await query(
      `sum by (method, code) (stockify_grpc_server_handled_total{feed="${FEED}", service="stockify.v1.MarketData"}) > 0`,
    );
    const seen = handled.map((h) => `${h.metric.method} ${h.metric.code}`);
    assert.ok(seen.includes('GetLatest OK'), seen.join(', '));
    assert.ok(seen.includes('GetOptionChain INVALID_ARGUMENT'), seen.join(', '));
  });
});
