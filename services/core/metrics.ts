// Prometheus metrics and the health endpoints every process serves on METRICS_PORT.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type Check = () => boolean | Promise<boolean>;

export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface HttpEndpoints {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz (alive) and /readyz (ready to do its job). */
export async function serveMetrics(
  registry: Registry,
  port: number,
  checks: { live?: Check; ready?: Check } = {},
  host = '0.0.0.0',
): Promise<HttpEndpoints> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = async (): Promise<void> => {
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(await registry.metrics());
      } else if (path === '/healthz' || path === '/readyz') {
        const check = path === '/healthz' ? checks.live : checks.ready;
        const ok = check ? await check() : true;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ok ? 'ok\n' : 'not ready\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    };
    answer().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
