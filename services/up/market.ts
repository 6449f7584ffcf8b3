// The live view's window on the data: GetLatest and GetOptionChain over gRPC MarketData, served by
// the storage processes.
import * as grpc from '@grpc/grpc-js';
import type { OptionChain, Snapshot } from '../core/messages.ts';
import { serviceClient } from '../core/proto.ts';

type Unary<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

interface MarketDataStub extends grpc.Client {
  GetLatest: Unary<{ instruments: string[] }, { snapshots: Snapshot[] }>;
  GetOptionChain: Unary<{ underlying: string; expiry: string }, OptionChain>;
}

export class MarketDataClient {
  readonly endpoint: string;
  private readonly stub: MarketDataStub;
  private readonly timeoutMs: number;

  constructor(endpoint: string, timeoutMs = 1_500) {
    this.endpoint = endpoint;
    this.timeoutMs = timeoutMs;
    const Ctor = serviceClient('MarketData');
    this.stub = new Ctor(endpoint, grpc.credentials.createInsecure()) as unknown as MarketDataStub;
  }

  private call<Req, Res>(method: Unary<Req, Res>, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      method.call(this.stub, request, { deadline: Date.now() + this.timeoutMs }, (err, response) => {
        if (err) reject(new Error(`${this.endpoint}: ${err.details || err.message}`));
        else if (response === undefined) reject(new Error(`${this.endpoint}: empty response`));
        else resolve(response);
      });
    });
  }

  async latest(instruments: string[]): Promise<Snapshot[]> {
    return (await this.call(this.stub.GetLatest, { instruments })).snapshots ?? [];
  }

  optionChain(underlying: string, expiry = ''): Promise<OptionChain> {
    return this.call(this.stub.GetOptionChain, { underlying, expiry });
  }

  close(): void {
    this.stub.close();
  }
}
