// PostgreSQL stopped for 20 s under load: storage holds its batches and loses nothing. Runs against
// a private throwaway PostgreSQL (the shared one must stay up for everyone else).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { rec, T0, tick } from '../../unit/storage/fixtures.ts';
import { count, deleteRedisKeys, testPool, uniqueName } from './helpers.ts';
import { createFeed, deleteTopics, type Feed, freePort, produce, type StorageProcess, startStorage, waitFor } from './process.ts';

const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
const LOCAL = fileURLToPath(new URL('../../../.local/', import.meta.url));
const OUTAGE_MS = 20_000;

/** Runs a PostgreSQL binary, as the `postgres` OS user when we are root (PostgreSQL refuses root). */
function pgRun(args: string[]): string {
  const [cmd, ...rest] = args as [string, ...string[]];
  const asRoot = process.getuid?.() === 0;
  const res = asRoot
    ? spawnSync('runuser', ['-u', process.env.PG_OS_USER ?? 'postgres', '--', join(PG_BIN, cmd), ...rest], { encoding: 'utf8' })
    : spawnSync(join(PG_BIN, cmd), rest, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${cmd} ${rest.join(' ')} failed: ${res.stderr || res.stdout}`);
  return res.stdout;
}

class PrivatePostgres {
  readonly dir: string;
  readonly port: number;
  constructor(dir: string, port: number) {
    this.dir = dir;
    this.port = port;
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/stockify`;
  }
  init(): void {
    mkdirSync(join(this.dir, 'sock'), { recursive: true });
    if (process.getuid?.() === 0) spawnSync('chown', ['-R', process.env.PG_OS_USER ?? 'postgres', this.dir]);
    pgRun(['initdb', '-D', join(this.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
    this.start();
    pgRun([
      'psql',
      '-X',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      'CREATE DATABASE stockify',
    ]);
  }
  start(): void {
    const opts = `-p ${this.port} -k ${join(this.dir, 'sock')} -c listen_addresses=127.0.0.1 -c fsync=off`;
    pgRun(['pg_ctl', '-D', join(this.dir, 'data'), '-o', opts, '-l', join(this.dir, 'log'), '-w', 'start']);
  }
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    pgRun(['pg_ctl', '-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }
}

describe('PostgreSQL outage under load', () => {
  let privatePg: PrivatePostgres;
  let pool: pg.Pool;
  let feed: Feed;
  let storage: StorageProcess | undefined;
  const schema = 'public';
  const RUN = Math.floor(Math.random() * 90_000) + 10_000;
  const id = `IDX_I:${RUN}`;

  before(async () => {
    privatePg = new PrivatePostgres(join(LOCAL, 'tmp', uniqueName('storage_pg')), await freePort());
    privatePg.init();
    pool = testPool(privatePg.url, 2);
    feed = await createFeed(`st-pg-${RUN}`);
  });
  after(async () => {
    await storage?.stop();
    await pool.end();
    try {
      privatePg.stop('immediate');
    } catch {
      // already stopped
    }
    rmSync(privatePg.dir, { recursive: true, force: true });
    await deleteTopics(feed);
    feed.cleanup();
    await deleteRedisKeys(`latest:${id}`);
  });

  test('PostgreSQL stopped for 20 s while records keep coming: every record is stored once it is back', async () => {
    storage = await startStorage(feed, { schema, databaseUrl: privatePg.url });
    let seq = 0;
    let producing = true;
    const load = (async () => {
      while (producing) {
        const batch = [];
        for (let i = 0; i < 200; i++) {
          seq += 1;
          batch.push(rec.tick(tick(id, seq, T0 + seq)));
        }
        await produce(feed.topic, batch);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await waitFor('first rows', async () => ((await count(pool, schema, 'ticks').catch(() => 0)) > 0 ? true : undefined), 60_000);
    const stoppedAt = Date.now();
    privatePg.stop('fast');
    const producedBeforeStop = seq;
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    privatePg.start();
    const restartedAt = Date.now();
    await new Promise((r) => setTimeout(r, 3_000));
    producing = false;
    await load;
    const total = seq;
    assert.ok(total > producedBeforeStop + 1_000, 'load continued during the outage');
    const caughtUp = await waitFor(
      `${total} rows`,
      async () => ((await count(pool, schema, 'ticks').catch(() => -1)) >= total ? Date.now() : undefined),
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${storage?.output().slice(-4000)}`);
    });
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await count(pool, schema, 'ticks'), total);
    process.stdout.write(
      `# outage ${restartedAt - stoppedAt} ms; ${total} ticks produced, all stored ${caughtUp - restartedAt} ms after PostgreSQL came back\n`,
    );
  });
});
