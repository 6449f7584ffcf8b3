// The CRD's CEL rules (x-kubernetes-validations), evaluated offline from the very rule strings the
// API server runs, so `stockify render` and the operator reject what `kubectl apply` would.
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { Schema } from './jsonschema.ts';

const env = new Environment().registerVariable('self', 'dyn');
const compiled = new Map<string, ParseResult>();

function compile(rule: string): ParseResult {
  let program = compiled.get(rule);
  if (!program) {
    program = env.parse(rule);
    compiled.set(rule, program);
  }
  return program;
}

/** `value` typed as the API server hands it to CEL: schema integers are CEL ints (BigInt), numbers doubles. */
export function celValue(schema: Schema, value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && (schema.type === 'integer' || schema['x-kubernetes-int-or-string']))
    return BigInt(value);
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.map((v) => celValue(items, v)) : value;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const sub = schema.properties?.[k] ?? schema.additionalProperties;
        return [k, sub ? celValue(sub, v) : v];
      }),
    );
  }
  return value;
}

/**
 * Whether `rule` holds for `self` (a value already validated against `schema`). A rule that does not
 * compile or does not evaluate to a boolean throws, naming the rule.
 */
export function ruleHolds(rule: string, schema: Schema, self: unknown): boolean {
  let result: unknown;
  try {
    result = compile(rule)({ self: celValue(schema, self) });
  } catch (err) {
    throw new Error(`CEL rule ${JSON.stringify(rule)} failed: ${(err as Error).message}`);
  }
  if (typeof result !== 'boolean') throw new Error(`CEL rule ${JSON.stringify(rule)} gave ${String(result)}, not a boolean`);
  return result;
}
