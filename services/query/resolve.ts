// Symbols on the command line (NIFTY) → instrument ids (IDX_I:13), for commands whose RPC takes ids.
//
// MarketData resolves a symbol only in GetOptionChain (the underlying's symbol in the instruments
// table), so that is the resolver: an argument with a ':' is an id as chain treats it, anything
// else a symbol resolved exactly as `stockify query chain <symbol>` resolves it. Until GetLatest
// resolves symbols itself, a symbol without stored option contracts cannot be resolved; the error
// says to pass its id.
import * as grpc from '@grpc/grpc-js';
import { isServiceError } from './client.ts';

/** Returns the instrument id of a symbol; rejects with the gRPC error when it cannot. */
export type SymbolResolver = (symbol: string) => Promise<string>;

export class UnresolvedSymbolError extends Error {}

export const isInstrumentIdArg = (arg: string): boolean => arg.includes(':');

/** Each argument as an instrument id, in order; each distinct symbol is resolved once. */
export async function resolveInstruments(args: readonly string[], resolve: SymbolResolver): Promise<string[]> {
  const ids = new Map<string, Promise<string>>();
  const one = async (symbol: string): Promise<string> => {
    try {
      return await resolve(symbol);
    } catch (err) {
      if (!isServiceError(err) || err.code !== grpc.status.NOT_FOUND) throw err;
      throw new UnresolvedSymbolError(
        `cannot resolve symbol '${symbol}' (${err.details || err.message}); symbols resolve for underlyings with stored option chains, otherwise pass the instrument id (SEGMENT:SECURITY_ID, e.g. NSE_EQ:1333)`,
      );
    }
  };
  return Promise.all(
    args.map((arg) => {
      if (isInstrumentIdArg(arg)) return arg;
      const key = arg.toUpperCase();
      let id = ids.get(key);
      if (!id) {
        id = one(arg);
        ids.set(key, id);
      }
      return id;
    }),
  );
}
