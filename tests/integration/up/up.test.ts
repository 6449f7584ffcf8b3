// `stockify up` end to end against the real Kafka, PostgreSQL and Redis: a small simulator feed
// with a unique name and schema runs as local processes, answers MarketData while it runs,
// survives a killed processor, stops by itself, and leaves rows in every table.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { shardInstruments } from '../../../operator/desired/index.ts';
import { createKafka } from '../../../services/core/kafka.ts';
import { createLogger } from '../../../services/core/log.ts';
import { loadFeed } from '../../../services/up/feed.ts';
import { MarketDataClient } from '../../../services/up/market.ts';
import { dropSchema } from '../storage/helpers.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'services/cli.ts');
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const FEED = `uptest-${suffix}`;
const SCHEMA = `up_${suffix}`;
// Long enough for six processes to become ready on a loaded 2-core machine.
const DURATION_S = 90;
const dir = mkdtempSync(join(tmpdir(), 'stockify-up-'));
const feedFile = join(dir, 'feed.yaml');
after(() => rmSync(dir, { recursive: true, force: true }));

writeFileSync(
  feedFile,
  `apiVersion: stockify.io/v1alpha1
kind: MarketFeed
metadata: {name: ${FEED}}
spec:
  shards: 2
  source:
    type: simulator
    simulator: {seed: 7, ticksPerSecond: 100, chainSnapshotsPerSecond: 1}
  instruments:
    - {symbol: NIFTY, securityId: "13", segment: IDX_I, kind: index, optionChain: {expiries: 1, strikes: 5, lotSize: 75, strikeStep: 50}, simulator: {price: 24350, volatility: 0.13}}
    - {symbol: BANKNIFTY, securityId: "25", segment: IDX_I, kind: index, simulator: {price: 52100, volatility: 0.16}}
    - {symbol: FINNIFTY, securityId: "27", segment: IDX_I, kind: index, simulator: {price: 23600, volatility: 0.15}}
    - {symbol: RELIANCE, securityId: "2885", segment: NSE_EQ, kind: equity, tickSize: 0.1, simulator: {price: 1290, volatility: 0.22}}
    - {symbol: HDFCBANK, securityId: "1333", segment: NSE_EQ, kind: equity, simulator: {price: 1720, volatility: 0.2}}
    - {symbol: INFY, securityId: "1594", segment: NSE_EQ, kind: equity, simulator: {price: 1850, volatility: 0.24}}
    - {symbol: SBIN, securityId: "3045", segment: NSE_EQ, kind: equity, simulator: {price: 810, volatility: 0.26}}
  kafka: {bootstrapServers: "kafka.invalid:9092", partitionsPerShard: 2}
  postgres: {secretRef: {name: pg}}
  redis: {url: "redis://redis.invalid:6379"}
`,
);

const childEnv = { ...process.env, KAFKA_BROKERS, DATABASE_URL, REDIS_URL, DB_SCHEMA: SCHEMA };

/** Runs `stockify up` and collects its output line by line. */
function startUp(args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'up', ...args], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffer = '';
  const take = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(500);
  }
  throw new Error(`${what} did not happen in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

function allChildPids(parent: number): number[] {
  const out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent)], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map(Number);
}

/** Child pids of `stockify up` running the given component (reads /proc, kills nothing). */
function childPid(parent: number, component: string, shard: number): number | undefined {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parent)], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    const env = readFileSync(`/proc/${m[1]}/environ`, 'utf8').split('\0');
    if (m[2].endsWith(` ${component}`) && env.includes(`SHARD_INDEX=${shard}`)) return Number(m[1]);
  }
  return undefined;
}

describe('stockify up (standalone mode) against the real services', { timeout: 180_000 }, () => {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  let up: ReturnType<typeof startUp>;
  let endpoint = '';
  let childPids: number[] = [];

  before(() => {
    // Every shard has instruments (an empty simulator shard has nothing to run).
    const shards = shardInstruments(loadFeed(readFileSync(feedFile, 'utf8')).spec);
    assert.ok(
      shards.every((s) => s.length > 0),
      'both shards hold instruments',
    );
    up = startUp(['-f', feedFile, '--duration', String(DURATION_S), '--grpc-port', '0']);
  });

  after(async () => {
    if (process.env.UP_TEST_DEBUG) process.stderr.write(`${up.lines.join('\n')}\n`);
    if (up.child.exitCode === null) {
      up.child.kill('SIGTERM');
      await up.exited;
    }
    await dropSchema(pool, SCHEMA);
    await pool.end();
    const kafka = createKafka(
      KAFKA_BROKERS.split(','),
      'up-test-cleanup',
      createLogger({ component: 'up-test', level: 'silent' }),
    );
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.includes(`.${FEED}`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    await admin.disconnect();
    rmSync(join(ROOT, '.local/up', FEED), { recursive: true, force: true });
    if (!process.env.UP_TEST_KEEP_LOGS) {
      const logs = join(ROOT, '.local/logs');
      for (const f of readdirSync(logs)) if (f.startsWith(`${FEED}-`)) rmSync(join(logs, f), { force: true });
    }
  });

  test('announces its processes and where MarketData is served', async () => {
    const first = await until('the start line', () => up.lines.find((l) => l.includes('starting')), 20_000);
    assert.match(
      first,
      new RegExp(`^stockify up: ${FEED}: starting 6 processes \\(2 shards\\); MarketData gRPC on 127\\.0\\.0\\.1:\\d+`),
    );
    endpoint = /MarketData gRPC on (\S+);/.exec(first)?.[1] ?? '';
    assert.ok(endpoint);
  });

  test('every process becomes ready and status lines report throughput and rows', async () => {
    const line = await until(
      'all six ready with rows written',
      () => up.lines.find((l) => /ingestion 2\/2 ready .*processor 2\/2 ready .*storage 2\/2 ready .* rows [1-9]/.test(l)),
      80_000,
    );
    assert.match(line, /^\[\d\d:\d\d:\d\d\] uptest-/);
    childPids = allChildPids(up.child.pid ?? 0);
    assert.equal(childPids.length, 6);
  });

  test('MarketData answers while it runs: latest index levels and the NIFTY option chain with GEX', async () => {
    const client = new MarketDataClient(endpoint, 3_000);
    try {
      const snapshots = await until(
        'latest levels',
        async () => {
          const s = await client.latest(['IDX_I:13', 'IDX_I:25']);
          return s.length === 2 ? s : undefined;
        },
        60_000,
      );
      assert.deepEqual(snapshots.map((s) => s.instrumentId).sort(), ['IDX_I:13', 'IDX_I:25']);
      const chain = await until(
        'the option chain',
        async () => {
          // Live option ticks give quotes before the first chain snapshot gives GEX: wait for both.
          const c = await client.optionChain('IDX_I:13');
          return c.quotes.length > 0 && c.gex ? c : undefined;
        },
        60_000,
      );
      assert.equal(chain.underlyingId, 'IDX_I:13');
      assert.ok(chain.spot > 20_000 && chain.spot < 30_000, `spot ${chain.spot}`);
      assert.ok(chain.quotes.some((q) => q.meta.optionType === 'CALL') && chain.quotes.some((q) => q.meta.optionType === 'PUT'));
      assert.ok(chain.gex, 'the chain carries its gamma exposure');
    } finally {
      client.close();
    }
  });

  test('`stockify query chain NIFTY` answers while it runs', () => {
    const out = execFileSync(process.execPath, [CLI, 'query', 'chain', 'NIFTY', '--endpoint', endpoint], {
      cwd: ROOT,
      env: childEnv,
      encoding: 'utf8',
    });
    assert.match(out, /^IDX_I:13 {2}expiry \d{4}-\d\d-\d\d {2}spot /);
    assert.match(out, /GEX at .*: net /);
    const latest = execFileSync(process.execPath, [CLI, 'query', 'latest', 'IDX_I:13', '--endpoint', endpoint, '--json'], {
      cwd: ROOT,
      env: childEnv,
      encoding: 'utf8',
    });
    assert.match(latest, /IDX_I:13/);
  });

  test('an ingestion process killed with SIGKILL is restarted, shown with its restart, and publishes again', async () => {
    // Ingestion, because it joins no consumer group: a replacement is ready at once instead of
    // waiting for the dead member's session to expire.
    const restartsOf = (line: string | undefined): number => Number(/ingestion [^|]*restarts (\d+)/.exec(line ?? '')?.[1] ?? 0);
    const before = restartsOf(up.lines.filter((l) => l.startsWith('[')).at(-1));
    const upPid = up.child.pid ?? 0;
    const victim = childPid(upPid, 'ingestion', 0);
    assert.ok(victim, 'found the ingestion process of shard 0');
    process.kill(victim, 'SIGKILL');
    const seen = up.lines.length;
    const line = await until(
      'a status line with the restart and both ingestion processes ready again',
      () => up.lines.slice(seen).find((l) => restartsOf(l) === before + 1 && /ingestion 2\/2 ready [1-9]/.test(l)),
      60_000,
    );
    assert.ok(line);
    const replacement = childPid(upPid, 'ingestion', 0);
    assert.ok(replacement && replacement !== victim, 'a new process took its place');
    childPids.push(replacement);
  });

  test('stops by itself after --duration, every child gone, and says where the data is', async () => {
    const code = await up.exited;
    assert.equal(code, 0, up.lines.slice(-30).join('\n'));
    const text = up.lines.join('\n');
    assert.match(text, new RegExp(`stopping \\(--duration ${DURATION_S}s reached\\)`));
    assert.match(text, new RegExp(`stockify up: stopped ${FEED} after 00:0\\d:\\d\\d \\(6 processes, \\d+ restarts?\\)`));
    assert.match(text, new RegExp(`Data: PostgreSQL postgres://[^:]+:\\*\\*\\*@[^ ]+, schema ${SCHEMA}`));
    assert.match(text, /stockify query chain NIFTY --endpoint 127\.0\.0\.1:\d+/);
    const alive = childPids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, [], 'no child outlives stockify up');
  });

  test('rows for the feed are in every table: ticks, option_quotes, bars_1m, gex', async () => {
    for (const table of ['ticks', 'option_quotes', 'bars_1m', 'gex']) {
      const r = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${SCHEMA}"."${table}"`);
      assert.ok((r.rows[0]?.n ?? 0) > 0, `${table} has rows`);
    }
    const nifty = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "${SCHEMA}".option_quotes WHERE underlying_id = 'IDX_I:13'`,
    );
    assert.ok((nifty.rows[0]?.n ?? 0) > 0, 'NIFTY option quotes stored');
  });
});

describe('stockify up refuses bad input with exit 2 and one clear line', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = childEnv): { code: number | null; stderr: string } => {
    try {
      execFileSync(process.execPath, [CLI, 'up', ...args], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return { code: 0, stderr: '' };
    } catch (err) {
      const e = err as { status: number | null; stderr: string };
      return { code: e.status, stderr: e.stderr };
    }
  };

  test('invalid YAML', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'spec: [unclosed\n');
    const r = run(['-f', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^stockify up: .*bad\.yaml: invalid YAML: /);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });

  test('an invalid MarketFeed names the field', () => {
    const bad = join(dir, 'bad-feed.yaml');
    writeFileSync(
      bad,
      `apiVersion: stockify.io/v1alpha1\nkind: MarketFeed\nmetadata: {name: x}\nspec: {shards: 0, instruments: []}\n`,
    );
    const r = run(['-f', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^stockify up: .*bad-feed\.yaml: spec\./);
  });

  test('a missing service URL is named', () => {
    const { DATABASE_URL: _, ...env } = childEnv;
    const r = run(['-f', feedFile], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^stockify up: DATABASE_URL is not set/);
  });

  test('unknown flags print the usage; --help prints it and exits 0', () => {
    assert.equal(run(['--bogus']).code, 2);
    const help = execFileSync(process.execPath, [CLI, 'up', '--help'], { cwd: ROOT, encoding: 'utf8' });
    assert.match(help, /^Usage: stockify up -f <feed\.yaml>/);
  });
});
