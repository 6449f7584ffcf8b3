// The subset of OpenAPI v3 (structural schema) the MarketFeed CRD uses, plus a validator that applies
// defaults the way the API server does. The CRD YAML, the TypeScript types and `stockify render`'s
// validation all come from one schema object written with these types.
import { ruleHolds } from './cel.ts';

/** A CEL rule: the API server runs it, and so does validate() offline (operator/crd/cel.ts). */
export interface Rule {
  rule: string;
  message: string;
  /** Field the error is reported on, relative to self (e.g. ".maxReplicas"). */
  fieldPath?: string;
}

export interface Schema {
  description: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  items?: Schema;
  enum?: string[];
  pattern?: string;
  format?: 'date-time' | 'date';
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: Rule[];
}

export class SpecError extends Error {
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field} ${problem}`);
    this.name = 'SpecError';
    this.field = field;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The schema as the API server wants it (a plain copy: int-or-string spelled out as anyOf). */
export function toOpenApi(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, s]) => [k, toOpenApi(s as Schema)]));
    } else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) {
      out[key] = toOpenApi(value as unknown as Schema);
    } else if (key === 'x-kubernetes-int-or-string') {
      out[key] = value;
      out.anyOf = [{ type: 'integer' }, { type: 'string' }];
    } else {
      out[key] = value;
    }
  }
  return out;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Validates `value` against `schema`, returning a copy with defaults applied (like the API server:
 * a missing field with a default gets it, and the default is itself defaulted). Unknown fields are
 * an error here (the API server would prune them silently; a typo in a file deserves a message).
 * Throws SpecError naming the first bad field.
 */
export function validate(schema: Schema, value: unknown, path: string): unknown {
  if (schema['x-kubernetes-int-or-string']) {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) return value;
    throw new SpecError(path, `must be an integer or a string, got ${describe(value)}`);
  }
  switch (schema.type) {
    case 'object':
      return validateObject(schema, value, path);
    case 'array':
      return validateArray(schema, value, path);
    case 'string':
      return validateString(schema, value, path);
    case 'integer':
    case 'number':
      return validateNumber(schema, value, path);
    case 'boolean':
      if (typeof value !== 'boolean') throw new SpecError(path, `must be true or false, got ${describe(value)}`);
      return value;
    default:
      return value;
  }
}

function validateObject(schema: Schema, value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) throw new SpecError(path, `must be an object, got ${describe(value)}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const sub = schema.properties?.[key] ?? schema.additionalProperties;
    if (!sub) {
      const known = Object.keys(schema.properties ?? {}).join(', ');
      throw new SpecError(`${path}.${key}`, `is not a known field (known: ${known})`);
    }
    if (v === null || v === undefined) continue;
    out[key] = validate(sub, v, `${path}.${key}`);
  }
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (out[key] === undefined && sub.default !== undefined) {
      out[key] = validate(sub, structuredClone(sub.default), `${path}.${key}`);
    }
  }
  for (const key of schema.required ?? []) {
    if (out[key] === undefined) throw new SpecError(`${path}.${key}`, 'is required');
  }
  runRules(schema, out, path);
  return out;
}

function validateArray(schema: Schema, value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new SpecError(path, `must be a list, got ${describe(value)}`);
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    throw new SpecError(path, `must have at least ${schema.minItems} item(s), got ${value.length}`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    throw new SpecError(path, `must have at most ${schema.maxItems} items, got ${value.length}`);
  }
  const items = schema.items;
  const out = items ? value.map((v, i) => validate(items, v, `${path}[${i}]`)) : [...value];
  if (schema['x-kubernetes-list-type'] === 'set' && new Set(out.map((v) => JSON.stringify(v))).size !== out.length) {
    throw new SpecError(path, 'must not contain duplicates');
  }
  const keys = schema['x-kubernetes-list-map-keys'];
  if (keys) {
    const seen = new Set<string>();
    for (const [i, item] of out.entries()) {
      const key = keys.map((k) => String((item as Record<string, unknown>)[k])).join(':');
      if (seen.has(key)) throw new SpecError(`${path}[${i}]`, `duplicates ${keys.join('+')} ${key}`);
      seen.add(key);
    }
  }
  runRules(schema, out, path);
  return out;
}

function validateString(schema: Schema, value: unknown, path: string): string {
  if (typeof value !== 'string') throw new SpecError(path, `must be a string, got ${describe(value)}`);
  if (schema.enum && !schema.enum.includes(value)) {
    throw new SpecError(path, `must be one of ${schema.enum.join(', ')}, got ${describe(value)}`);
  }
  if (schema.minLength !== undefined && value.length < schema.minLength) {
    throw new SpecError(path, `must be at least ${schema.minLength} character(s) long`);
  }
  if (schema.maxLength !== undefined && value.length > schema.maxLength) {
    throw new SpecError(path, `must be at most ${schema.maxLength} characters long`);
  }
  if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
    throw new SpecError(path, `must match ${schema.pattern}, got ${describe(value)}`);
  }
  runRules(schema, value, path);
  return value;
}

function validateNumber(schema: Schema, value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SpecError(path, `must be a number, got ${describe(value)}`);
  }
  if (schema.type === 'integer' && !Number.isInteger(value)) throw new SpecError(path, `must be an integer, got ${value}`);
  if (schema.minimum !== undefined && value < schema.minimum)
    throw new SpecError(path, `must be ≥ ${schema.minimum}, got ${value}`);
  if (schema.maximum !== undefined && value > schema.maximum)
    throw new SpecError(path, `must be ≤ ${schema.maximum}, got ${value}`);
  runRules(schema, value, path);
  return value;
}

function runRules(schema: Schema, value: unknown, path: string): void {
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    let holds: boolean;
    try {
      holds = ruleHolds(rule.rule, schema, value);
    } catch (err) {
      throw new SpecError(path, (err as Error).message);
    }
    if (!holds) throw new SpecError(`${path}${rule.fieldPath ?? ''}`, rule.message);
  }
}

/** TypeScript source of the type a schema describes; defaulted fields are not optional. */
export function toTypeScript(schema: Schema, indent = ''): string {
  if (schema['x-kubernetes-int-or-string']) return 'number | string';
  switch (schema.type) {
    case 'object': {
      if (schema.properties) {
        const inner = `${indent}  `;
        const lines = Object.entries(schema.properties).map(([key, sub]) => {
          const optional = !(schema.required?.includes(key) || sub.default !== undefined);
          const doc = `${inner}/** ${sub.description.replace(/\*\//g, '*\\/').replace(/\s+/g, ' ')} */`;
          return `${doc}\n${inner}${key}${optional ? '?' : ''}: ${toTypeScript(sub, inner)};`;
        });
        return `{\n${lines.join('\n')}\n${indent}}`;
      }
      if (schema.additionalProperties) return `Record<string, ${toTypeScript(schema.additionalProperties, indent)}>`;
      return 'Record<string, unknown>';
    }
    case 'array': {
      const item = schema.items ? toTypeScript(schema.items, indent) : 'unknown';
      return !item.startsWith('{') && item.includes('|') ? `(${item})[]` : `${item}[]`;
    }
    case 'string':
      return schema.enum ? schema.enum.map((e) => `'${e}'`).join(' | ') : 'string';
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'unknown';
  }
}
