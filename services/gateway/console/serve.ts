// Serves the web console's built files (make console: dist/console/) at / with @fastify/static:
// index.html and favicon revalidated on every load (no-cache, ETag), the content-hashed bundles
// under /assets/ cached for a year, and a Content-Security-Policy that lets the page reach its own
// origin only (REST and WebSocket), so nothing can load from elsewhere. /console/config.json tells
// the page whether to ask for a token. None of this needs a token: the API behind it does.
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `make console` (services/gateway/console/build.ts) writes the bundle, relative to this file. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

export const CONSOLE_CSP = [
  "default-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  // lightweight-charts sizes its canvases through element styles.
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function cacheControlOf(path: string): string {
  return /[/\\]assets[/\\]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache';
}

export async function serveConsole(app: FastifyInstance, opts: { dir: string; auth: boolean }): Promise<void> {
  app.get('/console/config.json', { schema: { hide: true } }, async (_req, reply) =>
    reply.header('cache-control', 'no-store').send({ auth: opts.auth }),
  );
  await app.register(fastifyStatic, {
    root: opts.dir,
    prefix: '/',
    // Files are looked up per request, so a rebuilt console is served without a restart.
    wildcard: true,
    index: ['index.html'],
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', cacheControlOf(path));
      reply.header('x-content-type-options', 'nosniff');
      if (path.endsWith('.html')) {
        reply.header('content-security-policy', CONSOLE_CSP);
        reply.header('referrer-policy', 'no-referrer');
      }
    },
  });
}
