// The contracts in proto/, loaded at runtime: protobuf codecs for Kafka values, and gRPC
// package definitions through @grpc/proto-loader.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import descriptorExtension from 'protobufjs/ext/descriptor/index.js';

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

/**
 * The encoded bytes as a Buffer without copying them: under Node protobufjs already writes into a
 * Buffer (Buffer.from would copy every message once more — a tenth of the processor's CPU).
 */
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** A codec for a message type by its short name, e.g. codec<RawRecord>('RawRecord'). */
export function codec<T>(typeName: string): Codec<T> {
  const type = protoRoot().lookupType(`stockify.v1.${typeName}`);
  return {
    encode(value: T): Buffer {
      const message = type.fromObject(value as Record<string, unknown>);
      return asBuffer(type.encode(message).finish());
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

const require = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));
/** The protos of the services every gRPC server adds beside ours: health and reflection itself. */
const PLUMBING_PROTOS = [
  join(packageDir('grpc-health-check'), 'proto/health/v1/health.proto'),
  join(packageDir('@grpc/reflection'), 'build/proto/grpc/reflection/v1/reflection.proto'),
  join(packageDir('@grpc/reflection'), 'build/proto/grpc/reflection/v1alpha/reflection.proto'),
];

/** Fully qualified names of the services every server registers beside its own. */
export const PLUMBING_SERVICES = [
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

/**
 * The descriptors server reflection serves: proto/ as written (keepCase: snake_case field names,
 * so grpcurl and generated clients accept proto/'s names) plus health and reflection. Handlers
 * keep camelCase objects: field names never travel on the wire, only numbers do.
 */
export function reflectionDefinition(): protoLoader.PackageDefinition {
  const def = protoLoader.loadSync([...PROTO_FILES, ...PLUMBING_PROTOS], { ...LOADER_OPTIONS, keepCase: true });
  const fixed = new Map<Buffer, Buffer>();
  for (const entry of Object.values(def)) {
    const files = (entry as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos;
    if (!Array.isArray(files)) continue;
    files.forEach((bin, i) => {
      let out = fixed.get(bin);
      if (!out) {
        out = nameMapEntries(bin);
        fixed.set(bin, out);
      }
      files[i] = out;
    });
  }
  return def;
}

/** google.protobuf.FileDescriptorProto (the extension's typings leave its types out). */
const FileDescriptorProto = (descriptorExtension as unknown as { FileDescriptorProto: protobuf.Type }).FileDescriptorProto;

interface DescriptorMessage {
  name: string;
  field?: { name: string; typeName?: string }[];
  nestedType?: DescriptorMessage[];
  options?: { mapEntry?: boolean };
}

/**
 * protobufjs names a map field's entry message after the field ("Statuses"); protoc, and so
 * grpcurl's descriptor checks, require "<Field>Entry" ("StatusesEntry"). Renames them in a file
 * descriptor (grpc.health.v1's HealthListResponse.statuses is such a map).
 */
function nameMapEntries(bin: Buffer): Buffer {
  const file = FileDescriptorProto.decode(bin) as unknown as { messageType?: DescriptorMessage[] };
  const visit = (m: DescriptorMessage): void => {
    for (const nested of m.nestedType ?? []) {
      visit(nested);
      if (!nested.options?.mapEntry || nested.name.endsWith('Entry')) continue;
      const field = m.field?.find((f) => f.typeName === nested.name || f.typeName?.endsWith(`.${nested.name}`));
      if (!field) continue;
      const entry = `${field.name.replace(/(^|_)([a-z])/g, (_s, _u, c: string) => c.toUpperCase())}Entry`;
      field.typeName = field.typeName?.slice(0, -nested.name.length) + entry;
      nested.name = entry;
    }
  };
  for (const m of file.messageType ?? []) visit(m);
  return Buffer.from(FileDescriptorProto.encode(file as unknown as protobuf.Message).finish());
}

export function serviceDefinition(name: 'MarketData' | 'Ingest' | 'Shard'): grpc.ServiceDefinition {
  const ctor = grpcDefinitions()[name] as grpc.ServiceClientConstructor;
  return ctor.service;
}

export function serviceClient(name: 'MarketData' | 'Ingest' | 'Shard'): grpc.ServiceClientConstructor {
  return grpcDefinitions()[name] as grpc.ServiceClientConstructor;
}
