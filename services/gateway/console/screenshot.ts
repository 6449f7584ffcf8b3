// `make console-screenshot`: the README's picture of the web console. Runs the sample simulator
// feed (k8s/samples/simulator.yaml, under its own name, schema and Redis database) with
// `stockify up`, lets it trade for a few minutes so that there are candles, opens the console in
// Debian's chromium and writes services/gateway/console/screenshot.png; then stops the feed and
// removes its schema and topics.
//   env: KAFKA_BROKERS, DATABASE_URL, REDIS_URL (infra/with-infra.sh sets them), SCREENSHOT_WAIT_S (150)
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { Page } from 'puppeteer-core';
import { removeUpRun } from '../../up/leftovers.ts';
import { chromiumPath, launchChromium } from './browser.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = fileURLToPath(new URL('./screenshot.png', import.meta.url));
const FEED = 'console-demo';
const SCHEMA = 'console_demo';
const WAIT_S = Number(process.env.SCREENSHOT_WAIT_S ?? 150);

function need(name: string): string {
  const v = process.env[name];
  if (!v) {
    process.stderr.write(`screenshot: ${name} is not set (run it through make console-screenshot)\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const kafka = need('KAFKA_BROKERS');
  const database = need('DATABASE_URL');
  const redis = new URL(need('REDIS_URL'));
  redis.pathname = '/15';
  const feedFile = join(tmpdir(), `${FEED}-${process.pid}.yaml`);
  const sample = readFileSync(join(ROOT, 'k8s/samples/simulator.yaml'), 'utf8');
  writeFileSync(feedFile, sample.replace(/^ {2}name: .*$/m, `  name: ${FEED}`));
  // Redis database 15 is the screenshot's own: emptied first, so that the page shows this feed only.
  const r = new Redis(redis.toString(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await r.flushdb();
  r.disconnect();

  const up = spawn(process.execPath, [join(ROOT, 'services/cli.ts'), 'up', '-f', feedFile, '--duration', String(WAIT_S + 120)], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: kafka,
      DATABASE_URL: database,
      REDIS_URL: redis.toString(),
      DB_SCHEMA: SCHEMA,
      GATEWAY_PORT: '31090',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  up.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    let base: string | undefined;
    for (let i = 0; i < 60 && !base; i++) {
      base = /; gateway (http:\/\/\S+);/.exec(out)?.[1];
      await sleep(500);
    }
    if (!base) throw new Error(`stockify up named no gateway:\n${out}`);
    process.stdout.write(`==> ${FEED} running, gateway ${base}; letting it trade for ${WAIT_S} s\n`);
    await sleep(WAIT_S * 1000);
    const browser = await launchChromium(chromiumPath(), { width: 1440, height: 1000 });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      await page.goto(`${base}/`, { waitUntil: 'load' });
      await page.waitForSelector('#app:not([hidden])');
      // The chain shown first may have no zero-gamma level at this moment; try the other expiries and underlyings.
      await pickChainWithZeroGamma(page);
      await page.waitForSelector('#candle-chart canvas');
      await page.waitForSelector('#status-body tr[data-key]');
      await sleep(3_000);
      await page.screenshot({ path: OUT, fullPage: true });
      process.stdout.write(`==> ${OUT}\n`);
    } finally {
      await browser.close();
    }
  } finally {
    up.kill('SIGTERM');
    await new Promise((r) => up.once('exit', r));
    rmSync(feedFile, { force: true });
    await removeUpRun({
      root: ROOT,
      feed: FEED,
      schema: SCHEMA,
      brokers: kafka,
      databaseUrl: database,
      clientId: 'console-screenshot',
    });
  }
}

async function pickChainWithZeroGamma(page: Page): Promise<void> {
  await page.waitForSelector('#chain-body tr[data-strike]');
  const underlyings = await page.$$eval('#chain-underlying option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
  for (const u of underlyings) {
    await page.select('#chain-underlying', u);
    await sleep(2_000);
    const expiries = await page.$$eval('#chain-expiry option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
    for (const e of expiries) {
      await page.select('#chain-expiry', e);
      if (await page.waitForSelector('#chain-body tr.zero-gamma', { timeout: 8_000 }).catch(() => null)) return;
    }
  }
  process.stderr.write('screenshot: no chain has a zero-gamma level right now; taking the picture without the line\n');
}

main().catch((err: Error) => {
  process.stderr.write(`screenshot: ${err.message}\n`);
  process.exit(1);
});
