// The one stockify image, built the way `make image` builds it (no daemon), read back from the
// OCI archive: non-root config, entrypoint, nothing but runtime files, and a containerd that
// imports it. Runs the image's own Node as uid 65532 in a chroot when the test runs as root.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, root, run, runId } from './tools.ts';

const work = join(root, '.local/image', `test-${runId}`);
const archive = join(work, 'stockify.oci.tar');
const TAG = `test-${runId}`;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
interface ImageConfig {
  architecture: string;
  os: string;
  config: { User: string; Entrypoint: string[]; WorkingDir: string; Env: string[]; Labels: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

const blobPath = (digest: string): string => `blobs/sha256/${digest.replace(/^sha256:/, '')}`;
const readMember = (member: string): string => ok('tar', ['-xOf', archive, member]);
const readJson = <T>(member: string): T => JSON.parse(readMember(member)) as T;

describe('image: make image output', () => {
  let index: { manifests: Descriptor[] };
  let manifest: { config: Descriptor; layers: Descriptor[] };
  let config: ImageConfig;
  let files: Set<string>;

  before(() => {
    mkdirSync(work, { recursive: true });
    const built = run('env', [
      `NODE_BIN=${process.execPath}`,
      `IMAGE_OUT=${archive}`,
      `IMAGE_TAG=${TAG}`,
      join(root, 'image/build.sh'),
    ]);
    assert.equal(built.code, 0, built.stderr + built.stdout);
    index = readJson('index.json');
    manifest = readJson(blobPath(index.manifests[0]?.digest ?? ''));
    config = readJson(blobPath(manifest.config.digest));
    files = new Set<string>();
    for (const layer of manifest.layers) {
      const list = ok('sh', ['-c', `tar -xOf "$1" "$2" | tar -tzf -`, 'sh', archive, blobPath(layer.digest)]);
      for (const f of list.split('\n')) if (f) files.add(f.replace(/^\.\//, '').replace(/\/$/, ''));
    }
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  test('the archive is an OCI layout with one manifest named for containerd', () => {
    assert.ok(existsSync(archive));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(index.manifests[0]?.annotations?.['io.containerd.image.name'], `docker.io/stockify/stockify:${TAG}`);
    assert.equal(readMember('oci-layout').trim(), '{"imageLayoutVersion":"1.0.0"}');
  });

  test('the image config runs as the non-root user 65532 with the stockify entrypoint', () => {
    assert.equal(config.config.User, '65532:65532');
    const uid = Number(config.config.User.split(':')[0]);
    assert.ok(uid > 0, 'not root');
    assert.deepEqual(config.config.Entrypoint, ['/usr/local/bin/node', '/app/services/stockify.js']);
    assert.equal(config.config.WorkingDir, '/app');
    assert.ok(config.config.Env.includes('NODE_ENV=production'));
    assert.equal(config.os, 'linux');
    assert.equal(config.config.Labels['org.opencontainers.image.title'], 'stockify');
    assert.equal(config.config.Labels['org.opencontainers.image.version'], TAG);
    assert.equal(config.config.Labels['io.stockify.node-version'], process.version);
  });

  test('two layers, base then app, and the config lists a diff id for each', () => {
    assert.equal(manifest.layers.length, 2);
    assert.equal(config.rootfs.diff_ids.length, 2);
    for (const l of manifest.layers) assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
  });

  test('the filesystem holds node, its libraries, the app and the passwd entry for 65532 — and no shell', () => {
    for (const f of [
      'usr/local/bin/node',
      'lib64/ld-linux-x86-64.so.2',
      'etc/passwd',
      'etc/ssl/certs/ca-certificates.crt',
      'app/services/stockify.js',
      'app/services/cli.ts',
      'app/operator/main.ts',
      'app/proto/stockify/v1/market.proto',
      'app/node_modules/kafkajs/package.json',
      'tmp',
    ]) {
      assert.ok(files.has(f), `the image has no ${f}`);
    }
    for (const f of [
      'bin/sh',
      'bin/bash',
      'usr/bin/apt',
      'app/tests',
      'app/node_modules/typescript',
      'app/node_modules/@biomejs',
    ]) {
      assert.ok(!files.has(f), `the image should not have ${f}`);
    }
    const passwd = ok('sh', [
      '-c',
      'tar -xOf "$1" "$2" | tar -xzOf - etc/passwd',
      'sh',
      archive,
      blobPath(manifest.layers[0]?.digest ?? ''),
    ]);
    assert.match(passwd, /^nonroot:x:65532:65532:/m);
  });

  /** The image's filesystem, both layers unpacked (once). */
  const rootfs = (): string => {
    const dir = join(work, 'rootfs');
    if (existsSync(dir)) return dir;
    mkdirSync(dir);
    for (const layer of manifest.layers) {
      ok('sh', ['-c', 'tar -xOf "$1" "$2" | tar -xzf - -C "$3"', 'sh', archive, blobPath(layer.digest), dir]);
    }
    return dir;
  };

  test('the image runs `stockify --help` as uid 65532 on its own libraries (chroot)', {
    skip: process.getuid?.() !== 0 && 'needs root for chroot',
  }, () => {
    const r = run('chroot', ['--userspec=65532:65532', rootfs(), '/usr/local/bin/node', '/app/services/stockify.js', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: stockify <command>/);
    assert.match(r.stdout, /operator\s+run the MarketFeed operator/);
  });

  test('a feed pod (uid 10001) starts on the compile cache warmed at build time: every module from it, nothing written', {
    skip: process.getuid?.() !== 0 && 'needs root for chroot (and the build warms the cache only as root)',
  }, () => {
    assert.ok(config.config.Env.includes('NODE_COMPILE_CACHE=/app/compile-cache'), config.config.Env.join(' '));
    assert.ok(
      [...files].some((f) => /^app\/compile-cache\/v24\.[^/]+-10001\/./.test(f)),
      'no cache entries for uid 10001',
    );
    assert.ok(
      [...files].some((f) => /^app\/compile-cache\/v24\.[^/]+-65532\/./.test(f)),
      'no cache entries for uid 65532',
    );
    const r = run('env', [
      '-i',
      'NODE_COMPILE_CACHE=/app/compile-cache',
      'NODE_DEBUG_NATIVE=COMPILE_CACHE',
      ok('sh', ['-c', 'command -v chroot']).trim(), // env -i: no PATH to find it by
      '--userspec=10001:10001',
      rootfs(),
      '/usr/local/bin/node',
      '/app/services/stockify.js',
      'processor',
      '--help',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Usage: stockify processor/);
    const accepted = r.stderr.split('\n').filter((l) => /V8 code cache for ESM file:\/\/\/app\/.* was accepted/.test(l));
    const missed = r.stderr.split('\n').filter((l) => /no transpile cache|was not initialized|mismatch|was rejected/.test(l));
    assert.ok(accepted.length > 100, `only ${accepted.length} modules came from the cache`);
    assert.deepEqual(missed, [], 'modules the warmed cache should have held');
  });

  test('containerd imports and unpacks the archive (ctr -n k8s.io images import, private containerd)', {
    skip: (!existsSync('/usr/bin/containerd') || process.getuid?.() !== 0) && 'needs containerd and root',
  }, async () => {
    const dir = join(work, 'containerd');
    mkdirSync(dir, { recursive: true });
    const sock = join(dir, 'c.sock');
    writeFileSync(
      join(dir, 'config.toml'),
      [
        'version = 2',
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${sock}"`,
        '[ttrpc]',
        `  address = "${sock}.ttrpc"`,
        '[debug]',
        `  address = "${dir}/d.sock"`,
      ].join('\n'),
    );
    const daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await sleep(100);
      assert.ok(existsSync(sock), 'containerd did not start');
      const imported = run('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'import', archive]);
      assert.equal(imported.code, 0, imported.stderr);
      const list = ok('ctr', ['--address', sock, '-n', 'k8s.io', 'images', 'ls', '-q']);
      assert.ok(list.split('\n').includes(`docker.io/stockify/stockify:${TAG}`), list);
      const snapshots = ok('ctr', ['--address', sock, '-n', 'k8s.io', 'snapshots', 'ls']);
      assert.ok(snapshots.split('\n').filter((l) => l.includes('Committed')).length >= 2, 'both layers unpacked');
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((resolve) => daemon.once('exit', resolve));
    }
  });
});
