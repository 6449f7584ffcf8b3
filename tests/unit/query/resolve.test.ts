import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { resolveInstruments, UnresolvedSymbolError } from '../../../services/query/resolve.ts';

const notFound = (details: string): grpc.ServiceError =>
  Object.assign(new Error(details), { code: grpc.status.NOT_FOUND, details, metadata: new grpc.Metadata() });

describe('stockify query latest: symbols resolve to instrument ids', () => {
  const known: Record<string, string> = { NIFTY: 'IDX_I:13', BANKNIFTY: 'IDX_I:25' };
  const asked: string[] = [];
  const resolver = async (symbol: string): Promise<string> => {
    asked.push(symbol);
    const id = known[symbol.toUpperCase()];
    if (!id) throw notFound(`no underlying with symbol '${symbol.toUpperCase()}' has been stored`);
    return id;
  };

  test('ids pass through untouched, symbols become ids, in the order given', async () => {
    asked.length = 0;
    assert.deepEqual(await resolveInstruments(['NSE_EQ:1333', 'NIFTY', 'IDX_I:25'], resolver), [
      'NSE_EQ:1333',
      'IDX_I:13',
      'IDX_I:25',
    ]);
    assert.deepEqual(asked, ['NIFTY'], 'only symbols are looked up');
  });

  test('a symbol given twice (any case) is looked up once', async () => {
    asked.length = 0;
    assert.deepEqual(await resolveInstruments(['nifty', 'NIFTY', 'BANKNIFTY'], resolver), ['IDX_I:13', 'IDX_I:13', 'IDX_I:25']);
    assert.deepEqual(asked, ['nifty', 'BANKNIFTY']);
  });

  test('an unknown symbol is an error that names it and says to pass the id', async () => {
    await assert.rejects(resolveInstruments(['HDFCBANK'], resolver), (err: unknown) => {
      assert.ok(err instanceof UnresolvedSymbolError);
      assert.match(err.message, /cannot resolve symbol 'HDFCBANK'.*no underlying with symbol 'HDFCBANK'.*instrument id/);
      return true;
    });
  });

  test('a server that cannot answer is not mistaken for an unknown symbol', async () => {
    const down = Object.assign(new Error('down'), {
      code: grpc.status.UNAVAILABLE,
      details: 'down',
      metadata: new grpc.Metadata(),
    });
    await assert.rejects(
      resolveInstruments(['NIFTY'], async () => {
        throw down;
      }),
      (err: unknown) => err === down,
    );
  });
});
