// The web console in Debian's chromium (puppeteer-core) against the real pipeline: `stockify up`
// runs a one-shard simulator MarketFeed with spec.gateway and spec.auth (HS256) as local processes
// on the real Kafka, PostgreSQL and Redis, and the gateway serves the freshly bundled console at /.
// What the page shows is checked against what the gateway's API answers at the same time, never
// against fixed numbers. Skips only when chromium cannot be installed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import * as jose from 'jose';
import type { Browser, Page } from 'puppeteer-core';
import { chromiumPath, launchChromium } from '../../../services/gateway/console/browser.ts';
import { buildConsole } from '../../../services/gateway/console/build.ts';
import { removeUpRun } from '../../../services/up/leftovers.ts';

// The page's globals as the callbacks puppeteer runs in the browser use them (this program is typed
// for Node, without the DOM library).
interface PageElement {
  textContent: string | null;
  hidden: boolean;
  value: string;
  className: string;
  classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
};

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'services/cli.ts');
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://stockify:stockify@127.0.0.1:5432/stockify';
const RUN = Math.floor(Math.random() * 90_000) + 10_000;
// A Redis database of its own (emptied before and after; the other tests use database 0 and the
// console screenshot 15), so that the instruments search lists this feed's instruments only.
const REDIS_DB = 1 + (RUN % 14);
const REDIS_URL = (() => {
  const u = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  u.pathname = `/${REDIS_DB}`;
  return u.toString();
})();

async function flushRedisDb(): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.flushdb();
  redis.disconnect();
}
const suffix = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const FEED = `console-${suffix}`;
const SCHEMA = `console_${suffix}`;
const SECRET = randomBytes(32).toString('hex');
const KEY = new TextEncoder().encode(SECRET);
// Security ids of this run only: live:<id> channels are shared by every Redis database.
const NIFTY = `IDX_I:${RUN}1`;
const BANKNIFTY = `IDX_I:${RUN}2`;
const UNDERLYINGS = [NIFTY, BANKNIFTY, `IDX_I:${RUN}4`, `IDX_I:${RUN}5`];
const GATEWAY_PORT = 31_000 + (RUN % 90);

const dir = mkdtempSync(join(tmpdir(), 'stockify-console-'));
const feedFile = join(dir, 'feed.yaml');
writeFileSync(
  feedFile,
  `apiVersion: stockify.io/v1alpha1
kind: MarketFeed
metadata: {name: ${FEED}}
spec:
  shards: 1
  source:
    type: simulator
    # A fixed seed, so that a run is repeatable: the simulated open interest decides whether a chain
    # has a zero-gamma level (net GEX changing sign within ±10 % of spot); four underlyings with two
    # expiries each give the test eight chains to find one in.
    simulator: {seed: 42, ticksPerSecond: 60, chainSnapshotsPerSecond: 1}
  instruments:
    - {symbol: NIFTY, securityId: "${RUN}1", segment: IDX_I, kind: index, optionChain: {expiries: 2, strikes: 4, lotSize: 75, strikeStep: 50}, simulator: {price: 24350, volatility: 0.13}}
    - {symbol: BANKNIFTY, securityId: "${RUN}2", segment: IDX_I, kind: index, optionChain: {expiries: 2, strikes: 4, lotSize: 35, strikeStep: 100}, simulator: {price: 52100, volatility: 0.16}}
    - {symbol: FINNIFTY, securityId: "${RUN}4", segment: IDX_I, kind: index, optionChain: {expiries: 2, strikes: 4, lotSize: 65, strikeStep: 50}, simulator: {price: 23600, volatility: 0.15}}
    - {symbol: MIDCPNIFTY, securityId: "${RUN}5", segment: IDX_I, kind: index, optionChain: {expiries: 2, strikes: 4, lotSize: 140, strikeStep: 25}, simulator: {price: 12800, volatility: 0.18}}
    - {symbol: RELIANCE, securityId: "${RUN}3", segment: NSE_EQ, kind: equity, tickSize: 0.1, simulator: {price: 1290, volatility: 0.22}}
  kafka: {bootstrapServers: "kafka.invalid:9092", partitionsPerShard: 1}
  postgres: {secretRef: {name: pg}}
  redis: {url: "redis://redis.invalid:6379"}
  gateway: {replicas: 1}
  auth: {hs256SecretRef: {name: console-auth, key: secret}}
`,
);

function token(scope: string, key: Uint8Array = KEY): Promise<string> {
  return new jose.SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('console-test')
    .setAudience('stockify')
    .setExpirationTime('15m')
    .sign(key);
}

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
    await sleep(500);
  }
  throw new Error(`${what} did not happen in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

interface ApiChain {
  underlyingId: string;
  expiry: string;
  expiries: string[];
  spot: number;
  zeroGamma: number | null;
  contracts: { strike: number }[];
}

/** What a page reported that a user would see as an error: console errors, uncaught exceptions, HTTP ≥ 400. */
function watch(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url ?? ''})`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught: ${(err as Error).message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return problems;
}

const chromium = (() => {
  try {
    return { path: chromiumPath() };
  } catch (err) {
    return { skip: (err as Error).message };
  }
})();

describe('web console in headless chromium over a running feed', { skip: chromium.skip, timeout: 420_000 }, () => {
  let up: ChildProcess | undefined;
  const lines: string[] = [];
  let base = '';
  let browser: Browser;
  let good = '';
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${good}` } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };

  before(async () => {
    await flushRedisDb();
    const built = await buildConsole();
    assert.ok(built.files.some((f) => /^assets\/console-\w+\.js$/.test(f.path)));
    up = spawn(process.execPath, [CLI, 'up', '-f', feedFile, '--duration', '400', '--grpc-port', '0'], {
      cwd: ROOT,
      env: {
        ...process.env,
        KAFKA_BROKERS,
        DATABASE_URL,
        REDIS_URL,
        DB_SCHEMA: SCHEMA,
        AUTH_HS256_SECRET: SECRET,
        GATEWAY_PORT: String(GATEWAY_PORT),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const take = (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
    };
    up.stdout?.on('data', take);
    up.stderr?.on('data', take);
    base = await until(
      'stockify up names its gateway',
      async () => lines.map((l) => /; gateway (http:\/\/\S+);/.exec(l)?.[1]).find(Boolean),
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${lines.join('\n')}`);
    });
    good = await token('read stream');
    // Every chain with its gamma exposure, so that the page has all to show.
    await until(
      'the chains with GEX through the gateway',
      async () => {
        for (const u of UNDERLYINGS) {
          const c = await api<ApiChain & { gex: unknown }>(`/v1/chains/${u}`);
          if (c.contracts.length === 0 || !c.gex) return undefined;
        }
        return true;
      },
      150_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${lines.slice(-20).join('\n')}`);
    });
    browser = await launchChromium(chromium.path as string);
  });

  after(async () => {
    await browser?.close();
    if (up && up.exitCode === null) {
      up.kill('SIGTERM');
      await new Promise((r) => up?.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
    await flushRedisDb();
    await removeUpRun({
      root: ROOT,
      feed: FEED,
      schema: SCHEMA,
      brokers: KAFKA_BROKERS,
      databaseUrl: DATABASE_URL,
      clientId: 'console-test',
    });
  });

  async function openPage(): Promise<{ page: Page; problems: string[] }> {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    const problems = watch(page);
    const res = await page.goto(`${base}/`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    return { page, problems };
  }

  async function signIn(page: Page, jwt: string): Promise<void> {
    await page.waitForSelector('#login:not([hidden])');
    await page.$eval(
      '#login-token',
      (el, v) => {
        (el as unknown as PageElement).value = v;
      },
      jwt,
    );
    await page.click('#login button[type=submit]');
  }

  const loginError = (page: Page) =>
    page.waitForFunction(() => document.querySelector('#login-error')?.textContent || undefined).then((h) => h.jsonValue());

  test('a bad token shows the login error (401), a token without scope stream says so (403)', async () => {
    const { page } = await openPage();
    // Signed with another secret: the API answers 401.
    await signIn(page, await token('read stream', new TextEncoder().encode('x'.repeat(64))));
    assert.match(String(await loginError(page)), /^Login failed: the token was not accepted/);
    assert.equal(await page.$eval('#app', (el) => (el as unknown as PageElement).hidden), true, 'the console stays hidden');
    await page.$eval('#login-error', (el) => {
      el.textContent = '';
    });
    await signIn(page, await token('read'));
    assert.match(String(await loginError(page)), /^Login failed: the token lacks a scope .*stream/);
    assert.equal(await page.$eval('#app', (el) => (el as unknown as PageElement).hidden), true);
    await page.browserContext().close();
  });

  test('with a good token: no console errors, live tiles move, the chain shows zero gamma, ATM and expiries, candles, shards', async (t) => {
    const { page, problems } = await openPage();
    await signIn(page, good);
    await page.waitForSelector('#app:not([hidden])');

    // Index tiles: both of the feed's indices, with levels that change while we watch.
    await page.waitForFunction(
      (id) => /\d/.test(document.querySelector(`.tile[data-instrument="${id}"] .tile-price`)?.textContent ?? ''),
      {},
      NIFTY,
    );
    const prices = () =>
      page.$$eval('.tile', (els) =>
        els.map((el) => `${el.getAttribute('data-instrument')}=${el.querySelector('.tile-price')?.textContent}`),
      );
    const first = await prices();
    assert.ok(first.length >= 2, `tiles: ${first.join(' ')}`);
    await page.waitForFunction(
      (before: string[]) => {
        const now = [...document.querySelectorAll('.tile')].map(
          (el) => `${el.getAttribute('data-instrument')}=${el.querySelector('.tile-price')?.textContent}`,
        );
        return now.some((p, i) => p !== before[i]);
      },
      {},
      first,
    );

    // The chain: rows, one ATM row nearest to the spot shown, a zero-gamma line where the API puts it.
    // Whether net GEX changes sign within ±10 % of spot depends on the simulated open interest, so
    // the test looks for an underlying and expiry whose chain has a zero-gamma level now, switches
    // the page to it with the underlying and expiry selects, and reads page and API together.
    const drawn = () =>
      page.evaluate(() => {
        const body = document.querySelector('#chain-body');
        return {
          underlying: body?.getAttribute('data-underlying') ?? '',
          expiry: body?.getAttribute('data-expiry') ?? '',
          shown: [...document.querySelectorAll('#chain-body tr')].map((r) => ({
            strike: r.getAttribute('data-strike'),
            level: r.getAttribute('data-level'),
            atm: r.classList.contains('atm'),
            inside: r.classList.contains('inside'),
          })),
          // Read with the rows: both come from one drawing of the chain.
          spot: Number((document.querySelector('[data-field=spot]')?.textContent ?? '').replace(/,/g, '')),
        };
      });
    const quick = { timeout: 20_000 };
    const showOnPage = async (underlying: string, expiry: string) => {
      const now = await drawn();
      if (now.underlying !== underlying) {
        await page.waitForSelector(`#chain-underlying option[value="${underlying}"]`, quick);
        await page.select('#chain-underlying', underlying);
        await page.waitForFunction(
          (u) => document.querySelector('#chain-body')?.getAttribute('data-underlying') === u,
          {},
          underlying,
        );
      }
      if ((await drawn()).expiry !== expiry) {
        await page.waitForSelector(`#chain-expiry option[value="${expiry}"]`, quick);
        await page.select('#chain-expiry', expiry);
      }
      await page.waitForFunction(
        (u, e) => {
          const body = document.querySelector('#chain-body');
          return body?.getAttribute('data-underlying') === u && body?.getAttribute('data-expiry') === e;
        },
        quick,
        underlying,
        expiry,
      );
    };
    let switches = 0;
    let lastLook = '';
    const { shown, spot, chain } = await until(
      'a chain with a zero-gamma level, shown on the page with its line',
      async () => {
        let found: ApiChain | undefined;
        for (const u of UNDERLYINGS) {
          for (const e of (await api<ApiChain>(`/v1/chains/${u}`)).expiries) {
            const c = await api<ApiChain>(`/v1/chains/${u}?expiry=${e}`);
            if (c.zeroGamma !== null) found ??= c;
          }
        }
        lastLook = found ? `${found.underlyingId} ${found.expiry} has zero gamma ${found.zeroGamma}` : 'no chain has zero gamma';
        if (!found) return undefined;
        const before = await drawn();
        if (before.underlying !== found.underlyingId || before.expiry !== found.expiry) switches++;
        await showOnPage(found.underlyingId, found.expiry);
        // The page refreshes the chain every 5 s: give it one refresh to draw the line.
        await sleep(5_500);
        const seen = await drawn();
        const c = await api<ApiChain>(`/v1/chains/${found.underlyingId}?expiry=${found.expiry}`);
        const onPage = seen.underlying === c.underlyingId && seen.expiry === c.expiry;
        lastLook += `; page shows ${seen.underlying} ${seen.expiry} with ${seen.shown.filter((r) => r.level !== null).length} line(s)`;
        return onPage && seen.shown.some((r) => r.level !== null) && c.zeroGamma !== null ? { ...seen, chain: c } : undefined;
      },
      240_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last look: ${lastLook}`);
    });
    t.diagnostic(
      `zero gamma of ${chain.underlyingId} ${chain.expiry} at ${chain.zeroGamma} (spot ${chain.spot}); ${switches} switches`,
    );
    const strikes = shown.filter((r) => r.strike !== null).map((r) => Number(r.strike));
    assert.ok(strikes.length >= 4, `chain rows: ${JSON.stringify(shown)}`);
    const lineAt = shown.findIndex((r) => r.level !== null);
    const level = Number(shown[lineAt]?.level);
    assert.ok(
      Math.abs(level - (chain.zeroGamma ?? Number.NaN)) < 0.02 * chain.spot,
      `page zero gamma ${level}, API ${chain.zeroGamma} (spot ${chain.spot})`,
    );
    if (shown[lineAt]?.inside) {
      const below = shown[lineAt - 1]?.strike;
      const above = shown[lineAt + 1]?.strike;
      assert.ok(below === undefined || Number(below) <= level, `line below strike ${below}, level ${level}`);
      assert.ok(above === undefined || Number(above) > level, `line above strike ${above}, level ${level}`);
    } else {
      assert.ok(lineAt === 0 || lineAt === shown.length - 1, 'outside the strikes the line is at an edge');
    }
    const atm = shown.filter((r) => r.atm);
    assert.equal(atm.length, 1, 'one ATM row');
    assert.ok(Math.abs(spot - chain.spot) < 0.02 * chain.spot, `spot shown ${spot}, API ${chain.spot}`);
    const nearest = Math.min(...strikes.map((k) => Math.abs(k - spot)));
    assert.equal(Math.abs(Number(atm[0]?.strike) - spot), nearest, `ATM ${atm[0]?.strike} is the strike nearest spot ${spot}`);
    const netGex = await page.$eval('[data-field=net-gex]', (el) => el.textContent ?? '');
    assert.match(netGex, /₹/);

    // Expiry switch: the page lists the expiries the API lists for the underlying shown (both of the
    // feed's), and shows the other one's chain.
    const expiries = await until(
      "the page's expiries match the API's",
      async () => {
        const onPage = await page.$$eval('#chain-expiry option', (os) => os.map((o) => (o as unknown as PageElement).value));
        const listed = (await api<ApiChain>(`/v1/chains/${chain.underlyingId}`)).expiries;
        return onPage.length >= 2 && onPage.join() === listed.join() ? onPage : undefined;
      },
      60_000,
    );
    const other = expiries.find((e) => e !== chain.expiry) as string;
    await showOnPage(chain.underlyingId, other);
    assert.ok((await page.$$('#chain-body tr[data-strike]')).length > 0, `rows for expiry ${other}`);

    // Candles: search, pick RELIANCE, its chart follows live quotes.
    await page.type('#candle-search', 'RELI');
    await page.waitForSelector('#candle-results li[data-instrument]');
    const results = await page.$$eval('#candle-results li[data-instrument]', (els) =>
      els.map((el) => el.getAttribute('data-instrument')),
    );
    const picked = `NSE_EQ:${RUN}3`;
    assert.deepEqual(results, [picked], "the search finds the feed's RELIANCE");
    await page.click(`#candle-results li[data-instrument="${picked}"]`);
    await page.waitForFunction(
      (id) => document.querySelector('#candle-chart')?.getAttribute('data-instrument') === id,
      {},
      picked,
    );
    await page.waitForFunction(() => document.querySelector('#candle-chart')?.getAttribute('data-close'));
    assert.match(await page.$eval('#candle-title', (el) => el.textContent ?? ''), /^RELIANCE · 1 minute/);
    assert.ok(await page.$('#candle-chart canvas'), 'lightweight-charts drew on a canvas');

    // Shards: the feed's ingestion, processor and storage, as /v1/status reports them.
    await page.waitForSelector('#status-body tr[data-key]');
    const components = await page.$$eval('#status-body tr[data-key]', (rows) => rows.map((r) => r.getAttribute('data-key')));
    const status = await api<{ shards: { component: string; shardIndex: number }[] }>('/v1/status');
    assert.deepEqual([...components].sort(), status.shards.map((s) => `${s.component}-${s.shardIndex ?? 0}`).sort());
    assert.equal(await page.$eval('#feed-name', (el) => el.textContent), FEED);

    assert.deepEqual(problems, [], 'no console errors, uncaught exceptions or failed requests');
    await page.browserContext().close();
  });
});
