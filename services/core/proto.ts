// The contracts in proto/, loaded at runtime: protobuf codecs for Kafka values, and gRPC
// package definitions through @grpc/proto-loader.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
export const PROTO_FILES = ['stockify/v1/market.proto', 'stockify/v1/services.proto'];
export const SCHEMA_VERSION = 1;

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (!root) {
    const r = new protobuf.Root();
    r.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_ROOT}/${target}`);
    r.loadSync(PROTO_FILES, { keepCase: false });
    r.resolveAll();
    root = r;
  }
  return root;
}

const CONVERSION: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  bytes: Buffer,
};

export interface Codec<T> {
  encode(value: T): Buffer;
  /** Throws on bytes that are not a valid message of this type. */
  decode(bytes: Uint8Array): T;
}

/** A codec for a message type by its short name, e.g. codec<RawRecord>('RawRecord'). */
export function codec<T>(typeName: string): Codec<T> {
  const type = protoRoot().lookupType(`stockify.v1.${typeName}`);
  return {
    encode(value: T): Buffer {
      const message = type.fromObject(value as Record<string, unknown>);
      return Buffer.from(type.encode(message).finish());
    },
    decode(bytes: Uint8Array): T {
      return type.toObject(type.decode(bytes), CONVERSION) as T;
    },
  };
}

let grpcPackage: grpc.GrpcObject | undefined;

/** The stockify.v1 gRPC package (service constructors and definitions). */
export function grpcDefinitions(): grpc.GrpcObject {
  if (!grpcPackage) {
    const definition = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
    const loaded = grpc.loadPackageDefinition(definition);
    grpcPackage = (loaded.stockify as grpc.GrpcObject).v1 as grpc.GrpcObject;
  }
  return grpcPackage;
}

/** The package definition, for server reflection. */
export function packageDefinition(): protoLoader.PackageDefinition {
  return protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
}

export function serviceDefinition(name: 'MarketData' | 'Ingest' | 'Shard'): grpc.ServiceDefinition {
  const ctor = grpcDefinitions()[name] as grpc.ServiceClientConstructor;
  return ctor.service;
}

export function serviceClient(name: 'MarketData' | 'Ingest' | 'Shard'): grpc.ServiceClientConstructor {
  return grpcDefinitions()[name] as grpc.ServiceClientConstructor;
}
