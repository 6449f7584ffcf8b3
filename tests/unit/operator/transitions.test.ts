import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { transitionEvents } from '../../../operator/controller/transitions.ts';
import type { MarketFeed, MarketFeedStatus } from '../../../operator/crd/types.ts';

const feed = { metadata: { name: 'nifty', namespace: 'markets' }, spec: { shards: 3 } } as MarketFeed;
const T = '2026-03-02T05:00:00Z';

function status(o: {
  degraded?: [string, string];
  market?: 'True' | 'False' | 'Unknown';
  shards?: number;
  gen?: number;
}): MarketFeedStatus {
  const [degradedStatus, reason] = o.degraded ?? ['False', 'AsExpected'];
  return {
    observedGeneration: o.gen ?? 1,
    ...(o.shards === undefined ? {} : { shards: o.shards }),
    conditions: [
      { type: 'Degraded', status: degradedStatus as 'True' | 'False', reason, message: `m-${reason}`, lastTransitionTime: T },
      { type: 'MarketOpen', status: o.market ?? 'True', reason: 'Open', message: 'within market hours', lastTransitionTime: T },
    ],
  };
}

const reasons = (before: MarketFeedStatus | undefined, after: MarketFeedStatus) =>
  transitionEvents(feed, before, after).map((e) => `${e.type}/${e.reason}`);

describe('events of a status transition', () => {
  test('an unchanged status records nothing', () => {
    assert.deepEqual(reasons(status({ shards: 3 }), status({ shards: 3 })), []);
    assert.deepEqual(
      reasons(status({ degraded: ['True', 'SecretNotFound'] }), status({ degraded: ['True', 'SecretNotFound'] })),
      [],
    );
  });

  test('a new problem, or another reason, is a Warning named by the reason', () => {
    assert.deepEqual(reasons(status({}), status({ degraded: ['True', 'SecretNotFound'] })), ['Warning/SecretNotFound']);
    assert.deepEqual(
      reasons(status({ degraded: ['True', 'SecretNotFound'] }), status({ degraded: ['True', 'KafkaUnreachable'] })),
      ['Warning/KafkaUnreachable'],
    );
  });

  test('no problems any more is Recovered', () => {
    assert.deepEqual(reasons(status({ degraded: ['True', 'ApplyFailed'] }), status({})), ['Normal/Recovered']);
  });

  test('the market opening or closing is an Event, an unknown market is not', () => {
    assert.deepEqual(reasons(status({ market: 'False' }), status({ market: 'True' })), ['Normal/MarketOpened']);
    assert.deepEqual(reasons(status({ market: 'True' }), status({ market: 'False' })), ['Normal/MarketClosed']);
    assert.deepEqual(reasons(status({ market: 'True' }), status({ market: 'Unknown' })), []);
    assert.deepEqual(reasons(undefined, status({ market: 'False' })), [], 'the first status is no transition');
  });

  test('a new shard count at a new generation is Resharded, once', () => {
    assert.deepEqual(reasons(status({ shards: 2, gen: 1 }), status({ shards: 3, gen: 2 })), ['Normal/Resharded']);
    assert.deepEqual(reasons(status({ shards: 2, gen: 2 }), status({ shards: 3, gen: 2 })), []);
  });
});
