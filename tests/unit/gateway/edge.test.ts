import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { refusalStatus } from '../../../services/core/auth-grpc.ts';
import { parseClientMessage } from '../../../services/gateway/app.ts';
import { type CatalogueEntry, search } from '../../../services/gateway/catalogue.ts';
import { fieldOf, httpStatusOf, problemOfGrpc } from '../../../services/gateway/problem.ts';

describe('gRPC status → HTTP status and problem details', () => {
  test('client mistakes 4xx, server faults 5xx, auth 401/403', () => {
    const table: [grpc.status, number][] = [
      [grpc.status.INVALID_ARGUMENT, 400],
      [grpc.status.NOT_FOUND, 404],
      [grpc.status.UNAUTHENTICATED, 401],
      [grpc.status.PERMISSION_DENIED, 403],
      [grpc.status.RESOURCE_EXHAUSTED, 429],
      [grpc.status.UNAVAILABLE, 503],
      [grpc.status.DEADLINE_EXCEEDED, 504],
      [grpc.status.INTERNAL, 500],
    ];
    for (const [code, http] of table) assert.equal(httpStatusOf(code), http, grpc.status[code]);
  });
  test("the field MarketData names becomes the gateway's parameter name", () => {
    assert.equal(fieldOf('from_ms must be an epoch in ms between 0 and …'), 'from');
    assert.equal(fieldOf("instrument 'X' is not an instrument id like IDX_I:13"), 'id');
    assert.equal(fieldOf("expiry '2026-13-01' is not a date"), 'expiry');
    assert.equal(fieldOf('query cancelled'), undefined);
    const err = Object.assign(new Error('x'), { code: grpc.status.INVALID_ARGUMENT, details: 'to_ms must be ≥ from_ms' });
    const p = problemOfGrpc(err);
    assert.equal(p.status, 400);
    assert.equal(p.field, 'to');
    assert.match(p.detail, /INVALID_ARGUMENT/);
  });
  test('gRPC auth refusals: 401 → UNAUTHENTICATED, 403 → PERMISSION_DENIED', () => {
    assert.equal(refusalStatus({ ok: false, status: 401, reason: 'r' }).code, grpc.status.UNAUTHENTICATED);
    assert.equal(refusalStatus({ ok: false, status: 403, reason: 'r' }).code, grpc.status.PERMISSION_DENIED);
  });
});

describe('WebSocket client messages', () => {
  test('subscribe and unsubscribe with instrument ids are accepted', () => {
    assert.deepEqual(parseClientMessage('{"op":"subscribe","instruments":["IDX_I:13"]}'), {
      ok: true,
      op: 'subscribe',
      instruments: ['IDX_I:13'],
    });
  });
  test('mistakes name the field', () => {
    const bad: [string | undefined, string][] = [
      [undefined, 'op'],
      ['not json', 'op'],
      ['{"op":"sub","instruments":["IDX_I:13"]}', 'op'],
      ['{"op":"subscribe"}', 'instruments'],
      ['{"op":"subscribe","instruments":[]}', 'instruments'],
      ['{"op":"subscribe","instruments":["nifty"]}', 'instruments'],
    ];
    for (const [text, field] of bad) {
      const r = parseClientMessage(text);
      assert.equal(r.ok, false, String(text));
      assert.equal(!r.ok && r.field, field, String(text));
    }
  });
});

describe('instrument search', () => {
  const e = (id: string, symbol: string, optionType: CatalogueEntry['optionType'] = ''): CatalogueEntry => ({
    id,
    symbol,
    segment: id.split(':')[0] ?? '',
    securityId: id.split(':')[1] ?? '',
    underlying: optionType ? 'IDX_I:13' : '',
    expiry: optionType ? '2026-12-01' : '',
    strike: 0,
    optionType,
  });
  const all = [
    e('NSE_FNO:1', 'NIFTY 2026-12-01 24000 CE', 'CALL'),
    e('IDX_I:25', 'BANKNIFTY'),
    e('IDX_I:13', 'NIFTY'),
    e('NSE_EQ:1333', 'HDFCBANK'),
  ];
  test('symbol prefix, case-insensitive, underlyings before contracts, limited', () => {
    assert.deepEqual(
      search(all, 'nif', 10).map((x) => x.id),
      ['IDX_I:13', 'NSE_FNO:1'],
    );
    assert.deepEqual(
      search(all, 'nif', 1).map((x) => x.id),
      ['IDX_I:13'],
    );
    assert.deepEqual(
      search(all, 'NSE_EQ:', 5).map((x) => x.symbol),
      ['HDFCBANK'],
    );
    assert.deepEqual(search(all, 'ZZZ', 5), []);
  });
});
