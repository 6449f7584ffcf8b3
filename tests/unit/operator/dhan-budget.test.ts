// The Dhan account budget (operator/desired/dhan-budget.ts): tables of plans for one and several
// feeds on an account, and a fast-check property over random accounts: never more than 4 connections
// (5 less the handover spare), never more than 5,000 subscriptions on one, every instrument of an
// accepted feed subscribed exactly once and sent to its home shard, chain slots disjoint and ≥ 3 s
// apart whatever the timer lateness within the send window.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { MarketFeed } from '../../../operator/crd/types.ts';
import { parseMarketFeed } from '../../../operator/crd/validate.ts';
import {
  type AccountFeed,
  DHAN_LIMITS,
  dealSlots,
  optionContracts,
  planAccount,
  USABLE_CONNECTIONS,
} from '../../../operator/desired/dhan-budget.ts';
import { desiredObjects, dhanBudget, SHARD_FILE_KEY, shardInstruments } from '../../../operator/desired/index.ts';
import { instrumentId } from '../../../services/core/messages.ts';
import { parseShardFile } from '../../../services/core/shardfile.ts';
import { shardOf } from '../../../services/core/sharding.ts';
import { nextChainSlot, shardPlan } from '../../../services/ingestion/dhan/budget.ts';
import { SCALE } from '../property-seed.ts';

interface FeedInput {
  name: string;
  shards: number;
  equities: number;
  /** Underlyings with optionChain: [expiries, strikes]. */
  chains?: [number, number][];
  secret?: string;
  created?: string;
  pollSeconds?: number;
}

function dhanFeed(f: FeedInput): MarketFeed & AccountFeed {
  const instruments = [
    ...Array.from({ length: f.equities }, (_, i) => ({ symbol: `EQ${i}`, securityId: String(100_000 + i), segment: 'NSE_EQ' })),
    ...(f.chains ?? []).map(([expiries, strikes], i) => ({
      symbol: `IDX${i}`,
      securityId: String(10 + i),
      segment: 'IDX_I',
      optionChain: { expiries, strikes },
    })),
  ];
  const feed = parseMarketFeed({
    apiVersion: 'stockify.io/v1alpha1',
    kind: 'MarketFeed',
    metadata: { name: f.name, namespace: 'markets' },
    spec: {
      shards: f.shards,
      source: {
        type: 'dhan',
        dhan: { credentialsSecretRef: { name: f.secret ?? 'dhan-creds' }, optionChainPollSeconds: f.pollSeconds ?? 3 },
      },
      instruments,
      kafka: { bootstrapServers: 'kafka:9092' },
      postgres: { secretRef: { name: 'pg' } },
      redis: { url: 'redis://redis:6379' },
    },
  });
  return { ...feed, metadata: { ...feed.metadata, ...(f.created ? { creationTimestamp: f.created } : {}) } };
}

const groupsOf = (f: AccountFeed) => shardInstruments(f.spec);
const plan = (...feeds: FeedInput[]) => planAccount(feeds.map(dhanFeed), groupsOf);

describe('Dhan account budget', () => {
  test('optionChain.strikes counts strikes on each side of the money plus the one at it, a call and a put per expiry', () => {
    assert.equal(optionContracts({ expiries: 2, strikes: 20 }), 2 * 41 * 2);
    assert.equal(optionContracts({ expiries: 1, strikes: 1 }), 6);
    assert.equal(optionContracts(undefined), 0);
  });

  const table: {
    name: string;
    feeds: FeedInput[];
    want: Record<string, { connections: number } | { refused: 'connections' | 'instrumentsPerConnection' }>;
  }[] = [
    {
      name: '8 shards, 40 instruments: one connection carries all',
      feeds: [{ name: 'a', shards: 8, equities: 40 }],
      want: { a: { connections: 1 } },
    },
    {
      name: '8 shards, 12,000 instruments: 3 connections',
      feeds: [{ name: 'a', shards: 8, equities: 12_000 }],
      want: { a: { connections: 3 } },
    },
    {
      name: '20,000 instruments fill the 4 usable connections',
      feeds: [{ name: 'a', shards: 2, equities: 20_000 }],
      want: { a: { connections: 4 } },
    },
    {
      name: '20,002 subscriptions: the spare is not for feeds',
      feeds: [{ name: 'a', shards: 8, equities: 19_995, chains: [[1, 1]] }],
      want: { a: { refused: 'connections' } },
    },
    {
      name: 'option contracts count: 10 underlyings × 2 expiries × 41 strikes × 2 + 4,000 equities need 2',
      feeds: [{ name: 'a', shards: 4, equities: 4_000, chains: Array.from({ length: 10 }, () => [2, 20] as [number, number]) }],
      want: { a: { connections: 2 } },
    },
    {
      name: 'two feeds on one Secret: the older keeps its slots, the newer gets what is left',
      feeds: [
        { name: 'new', shards: 4, equities: 6_000, created: '2026-11-02T00:00:00Z' },
        { name: 'old', shards: 4, equities: 11_000, created: '2026-11-01T00:00:00Z' },
      ],
      want: { old: { connections: 3 }, new: { refused: 'connections' } },
    },
    {
      name: 'two feeds on different Secrets are planned apart',
      feeds: [
        { name: 'a', shards: 4, equities: 15_000, secret: 'one' },
        { name: 'b', shards: 4, equities: 15_000, secret: 'two' },
      ],
      want: { a: { connections: 3 }, b: { connections: 3 } },
    },
  ];
  for (const row of table) {
    test(row.name, () => {
      const plans = plan(...row.feeds);
      for (const [name, want] of Object.entries(row.want)) {
        const p = plans.get(`markets/${name}`);
        assert.ok(p, `a plan for ${name}`);
        if ('refused' in want) {
          assert.equal(p.ok, false, `${name} refused`);
          if (!p.ok) {
            assert.equal(p.limit, want.refused);
            assert.match(p.message, /Dhan account \(Secret markets\/[\w-]+\)/);
          }
        } else {
          assert.ok(p.ok, p.ok ? '' : p.message);
          assert.equal(p.budget.connections, want.connections);
        }
      }
    });
  }

  test('an underlying whose contracts exceed one connection is refused (the CRD refuses it first; the planner still checks)', () => {
    const feed = dhanFeed({ name: 'a', shards: 1, equities: 1, chains: [[6, 200]] });
    const chain = feed.spec.instruments[1]?.optionChain;
    assert.ok(chain);
    chain.expiries = 12;
    const p = planAccount([feed], groupsOf).get('markets/a');
    assert.ok(p && !p.ok);
    assert.equal(p.limit, 'instrumentsPerConnection');
    assert.match(
      p.message,
      /IDX_I:10 with its 9,624 option contracts needs 9,625 subscriptions, more than the 5,000 of one connection/,
    );
  });

  test('a refusal for connections names the account limit and says more shards do not help', () => {
    const p = plan({ name: 'a', shards: 8, equities: 19_995, chains: [[1, 1]] }).get('markets/a');
    assert.ok(p && !p.ok);
    assert.match(p.message, /20,002 subscriptions \(19,996 instruments \+ 6 option contracts\)/);
    assert.match(p.message, /4 connections × 5,000 instruments \(5 connections, 1 kept spare for handover\)/);
    assert.match(p.message, /more shards do not add capacity/);
  });

  test('a feed not yet created (render) is planned after every existing feed of the account', () => {
    const old = dhanFeed({ name: 'old', shards: 2, equities: 16_000, created: '2026-01-01T00:00:00Z' });
    const fresh = dhanFeed({ name: 'fresh', shards: 2, equities: 6_000 });
    const p = dhanBudget(fresh, [old]);
    assert.ok(p && !p.ok && p.limit === 'connections');
    const alone = dhanBudget(fresh);
    assert.ok(alone?.ok && alone.budget.connections === 2);
  });

  test('chain slots are dealt round-robin in proportion to the (underlying, expiry) pairs', () => {
    assert.deepEqual(dealSlots([2, 0, 1, 3]), { cycle: 6, slots: [[0, 3], [], [1], [2, 4, 5]] });
  });

  test('8 shards, 3 connections: every shard file carries exactly its share, carried specs included', () => {
    const feed = dhanFeed({
      name: 'a',
      shards: 8,
      equities: 12_000,
      chains: [
        [2, 5],
        [1, 5],
        [3, 5],
      ],
    });
    const files = desiredObjects(feed)
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => parseShardFile(JSON.parse((o as { data: Record<string, string> }).data[SHARD_FILE_KEY] ?? '{}')));
    assert.equal(files.length, 8);
    const seen = new Map<string, number>();
    let connections = 0;
    for (const file of files) {
      assert.equal(file.source.type, 'dhan');
      const own = file.instruments;
      const sp = shardPlan(file, own, file.shard);
      connections += sp.connections.length;
      for (const c of sp.connections) {
        for (const i of c.instruments) {
          const id = instrumentId(i.segment, i.securityId);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          assert.equal(i.home, shardOf(id, 8), `${id} goes to its home shard`);
        }
      }
    }
    assert.equal(connections, 3);
    assert.equal(seen.size, 12_003);
    assert.ok(
      [...seen.values()].every((n) => n === 1),
      'every instrument subscribed exactly once',
    );
    const chainShards = files.filter((f) => f.source.type === 'dhan' && f.source.budget?.chain);
    const underlyingHomes = new Set(['IDX_I:10', 'IDX_I:11', 'IDX_I:12'].map((id) => shardOf(id, 8)));
    assert.equal(chainShards.length, underlyingHomes.size, 'only shards that own an underlying get chain slots');
  });
});

describe('Dhan account budget (property)', () => {
  const feedArb = fc.record({
    shards: fc.integer({ min: 1, max: 12 }),
    equities: fc.integer({ min: 1, max: 9_000 }), // the CRD wants ≥ 1 instrument,
    chains: fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 60 })), { maxLength: 5 }),
    pollSeconds: fc.constantFrom(3, 4, 6),
  });
  test('any account: ≤ 4 connections, ≤ 5,000 each, every accepted instrument exactly once at home, chain sends ≥ 3 s apart', () => {
    fc.assert(
      fc.property(
        fc.array(feedArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat({ max: CHAIN_LATE_MAX }), { minLength: 64, maxLength: 64 }),
        (inputs, lateness) => {
          const feeds = inputs.map((f, i) => ({ ...f, name: `f${i}`, created: `2026-01-0${i + 1}T00:00:00Z` }));
          const plans = plan(...feeds);
          let used = 0;
          const chainOwners: { slotMs: number; cycle: number; slots: number[] }[] = [];
          for (const f of feeds) {
            const p = plans.get(`markets/${f.name}`);
            assert.ok(p);
            if (!p.ok) continue;
            used += p.budget.connections;
            const seen = new Map<string, number>();
            for (const s of p.budget.shards) {
              if (s.chain) chainOwners.push(s.chain);
              for (const c of s.connections) {
                assert.equal(c.holder, s.shard);
                assert.ok(c.load <= DHAN_LIMITS.instrumentsPerConnection, `load ${c.load}`);
                for (const i of c.instruments) {
                  seen.set(i.id, (seen.get(i.id) ?? 0) + 1);
                  assert.equal(i.home, shardOf(i.id, f.shards));
                }
              }
            }
            assert.equal(seen.size, f.equities + f.chains.length);
            assert.ok([...seen.values()].every((n) => n === 1));
          }
          assert.ok(used <= USABLE_CONNECTIONS, `${used} connections`);
          if (chainOwners.length === 0) return;
          // Every slot of the cycle has exactly one owner; sends (late by up to the window) stay ≥ 3 s apart.
          const cycle = chainOwners[0]?.cycle ?? 0;
          const owners = new Array<number>(cycle).fill(0);
          for (const o of chainOwners) for (const s of o.slots) owners[s] = (owners[s] ?? 0) + 1;
          assert.ok(owners.every((n) => n === 1));
          const sends: number[] = [];
          const t0 = 1_764_460_800_000;
          for (const o of chainOwners) {
            let t = t0;
            for (let k = 0; k < 8; k++) {
              const slot = nextChainSlot({ ...o, sendWindowMs: 250 }, t);
              sends.push(slot + ((lateness[sends.length % 64] ?? 0) % 251));
              t = slot + 1;
            }
          }
          sends.sort((a, b) => a - b);
          for (let i = 1; i < sends.length; i++) {
            assert.ok(
              (sends[i] ?? 0) - (sends[i - 1] ?? 0) >= DHAN_LIMITS.chainRequestMs,
              `sends ${sends[i - 1]} and ${sends[i]}`,
            );
          }
        },
      ),
      { numRuns: Number(process.env.BUDGET_RUNS ?? 60) * SCALE },
    );
  });
});

const CHAIN_LATE_MAX = 250;
