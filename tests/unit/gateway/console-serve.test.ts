// How the gateway serves the web console's files (services/gateway/console/serve.ts) and how the
// build names them in the page (build.ts renderIndex), with Fastify's inject: no network, no browser.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Fastify from 'fastify';
import { renderIndex } from '../../../services/gateway/console/build.ts';
import { CONSOLE_CSP, cacheControlOf, serveConsole } from '../../../services/gateway/console/serve.ts';

const dir = mkdtempSync(join(tmpdir(), 'console-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'assets'));
writeFileSync(
  join(dir, 'index.html'),
  '<!doctype html><title>console</title><script type="module" src="/assets/console-ABC.js"></script>',
);
writeFileSync(join(dir, 'assets/console-ABC.js'), 'console.log(1)');

async function app(auth: boolean) {
  const a = Fastify();
  await serveConsole(a, { dir, auth });
  return a;
}

describe('serving the console', () => {
  test('/ is the page, without a token, revalidated on every load, under a same-origin CSP', async () => {
    const a = await app(true);
    const r = await a.inject({ url: '/' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.equal(r.headers['content-security-policy'], CONSOLE_CSP);
    assert.match(CONSOLE_CSP, /default-src 'self'/);
    assert.match(CONSOLE_CSP, /connect-src 'self'/);
    assert.ok(r.headers.etag, 'an ETag to revalidate against');
    const again = await a.inject({ url: '/', headers: { 'if-none-match': r.headers.etag as string } });
    assert.equal(again.statusCode, 304);
    await a.close();
  });
  test('content-hashed assets are cached for a year; a missing file is a 404', async () => {
    const a = await app(false);
    const js = await a.inject({ url: '/assets/console-ABC.js' });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.headers['x-content-type-options'], 'nosniff');
    assert.equal((await a.inject({ url: '/assets/console-OLD.js' })).statusCode, 404);
    await a.close();
  });
  test('/console/config.json tells the page whether to ask for a token', async () => {
    for (const auth of [true, false]) {
      const a = await app(auth);
      const r = await a.inject({ url: '/console/config.json' });
      assert.deepEqual(r.json(), { auth });
      assert.equal(r.headers['cache-control'], 'no-store');
      await a.close();
    }
  });
  test('cache policy by path', () => {
    assert.equal(cacheControlOf('/srv/console/assets/console-X.css'), 'public, max-age=31536000, immutable');
    assert.equal(cacheControlOf('/srv/console/index.html'), 'no-cache');
    assert.equal(cacheControlOf('/srv/console/favicon.svg'), 'no-cache');
  });
});

describe('the page template', () => {
  const template = '<link rel="stylesheet" href="%STYLE%"><script type="module" src="%SCRIPT%"></script>';
  test('names the bundle’s files', () => {
    assert.equal(
      renderIndex(template, { script: '/assets/console-A.js', style: '/assets/console-B.css' }),
      '<link rel="stylesheet" href="/assets/console-B.css"><script type="module" src="/assets/console-A.js"></script>',
    );
  });
  test('refuses anything that would load from another origin (a CDN)', () => {
    for (const src of ['https://cdn.example.com/x.js', '//cdn.example.com/x.js', 'http://10.0.0.1/x.js']) {
      assert.throws(
        () => renderIndex(template, { script: src, style: '/assets/console-B.css' }),
        /must load nothing from another origin/,
      );
    }
  });
});
