// The builders and `stockify render` are pure: loading them must not load a Kafka, PostgreSQL, Redis
// or gRPC client (a stray import would drag I/O into the domain layer and slow every render).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';

const IO_PACKAGES = ['kafkajs', 'pg', 'ioredis', '@grpc/grpc-js'];

/** Every package a fresh process loads while importing `modules`, recorded by a module resolve hook. */
function packagesLoadedBy(modules: string[]): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const urls = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); urls.add(r.url); return r; } });
    for (const m of ${JSON.stringify(modules)}) await import(new URL(m, ${JSON.stringify(import.meta.url)}).href);
    const packages = [...urls].map((u) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(u)?.[1]).filter(Boolean);
    process.stdout.write(JSON.stringify([...new Set(packages)]));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('the pure operator layer', () => {
  test('importing operator/desired and operator/render.ts loads no Kafka, PostgreSQL, Redis or gRPC client', () => {
    const loaded = packagesLoadedBy(['../../../operator/desired/index.ts', '../../../operator/render.ts']);
    assert.ok(loaded.includes('yaml'), `the hook sees package imports (loaded: ${loaded.join(', ')})`);
    assert.deepEqual(
      loaded.filter((p) => IO_PACKAGES.includes(p)),
      [],
    );
  });
});
