// The REST reference of the gateway bench: a bare Fastify 5 route that answers GET /v1/latest with the
// very JSON document the gateway's latest route returned (parsed once, serialised per request like
// any Fastify reply), with no hooks, auth, rate limit or gRPC behind it.
//   node tests/bench/gateway/bare-fastify.ts <port> <file holding the JSON body>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

const [port, file] = process.argv.slice(2);
if (!port || !file) {
  process.stderr.write('usage: bare-fastify.ts <port> <json file>\n');
  process.exit(2);
}
const body = JSON.parse(readFileSync(file, 'utf8')) as object;
const app = Fastify({ logger: false });
app.get('/v1/latest', async () => body);
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write(`listening on ${port}\n`);
for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => app.close().then(() => process.exit(0)));
