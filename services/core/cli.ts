// Subcommand argument parsing on node:util parseArgs, typed values through zod: --help everywhere,
// unknown flags and bad values → one line and the usage, exit 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { z } from 'zod';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];

export interface Parsed<O extends Options> {
  values: Values<O>;
  positionals: string[];
}

/** Flags that need more than a string: the schema turns their text into typed values. */
export type FlagSchema = z.ZodObject;

/** The flags as typed values: those of the schema converted, the others as parseArgs gave them. */
export type Flags<O extends Options, S extends FlagSchema> = Omit<Values<O>, keyof z.output<S>> & z.output<S>;

export interface CommandSpec<O extends Options> {
  usage: string;
  options: O;
}

export type Outcome<P> = { ok: true; parsed: P } | { ok: false; exitCode: number };

/**
 * Parses a subcommand's arguments. Returns `ok: false` after printing help (exit 0) or one line and
 * the usage on an error (exit 2): callers return `exitCode` then. With a schema, `parsed.flags`
 * holds the typed values; a value the schema rejects prints `--flag: problem`.
 */
export function parseCommand<O extends Options>(args: string[], spec: CommandSpec<O>): Outcome<Parsed<O>>;
export function parseCommand<O extends Options, S extends FlagSchema>(
  args: string[],
  spec: CommandSpec<O> & { schema: S },
): Outcome<Parsed<O> & { flags: Flags<O, S> }>;
export function parseCommand<O extends Options>(
  args: string[],
  spec: CommandSpec<O> & { schema?: FlagSchema },
): Outcome<Parsed<O> & { flags?: unknown }> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${spec.usage}\n`);
    return { ok: false, exitCode: 0 };
  }
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true }) as Parsed<O>;
  } catch (err) {
    return usageError(spec.usage, err instanceof Error ? err.message : String(err));
  }
  if (!spec.schema) return { ok: true, parsed };
  const typed = spec.schema.safeParse(parsed.values);
  if (!typed.success) {
    const issue = typed.error.issues[0];
    const flag = issue?.path[0];
    return usageError(spec.usage, `${flag === undefined ? '' : `--${String(flag)}: `}${issue?.message ?? 'bad value'}`);
  }
  return { ok: true, parsed: { ...parsed, flags: { ...parsed.values, ...typed.data } } };
}

/** Prints `message` and the usage to stderr; the outcome of a command line that cannot run. */
export function usageError(usage: string, message: string): { ok: false; exitCode: number } {
  process.stderr.write(`${message}\n\n${usage}\n`);
  return { ok: false, exitCode: 2 };
}

/** A flag whose text `parse` turns into a value, or undefined when it is not `expected`. */
export function flagValue<T>(expected: string, parse: (text: string) => T | undefined) {
  return z.string().transform((text, ctx): T => {
    const value = parse(text);
    if (value !== undefined) return value;
    ctx.addIssue({ code: 'custom', message: `must be ${expected}, got '${text}'` });
    return z.NEVER;
  });
}

/** A numeric flag: `accept` says which numbers are `expected`. */
export function numberFlag(expected: string, accept: (n: number) => boolean) {
  return flagValue(expected, (text) => {
    const n = text.trim() === '' ? Number.NaN : Number(text);
    return Number.isFinite(n) && accept(n) ? n : undefined;
  });
}

/** The flag types every command shares. */
export const flags = {
  seconds: () => numberFlag('a positive number of seconds', (n) => n > 0),
  positiveInt: () => numberFlag('a positive integer', (n) => Number.isInteger(n) && n >= 1),
  /** A TCP port; 0 asks for any free one. */
  port: () => numberFlag('a port number (0 = any free port)', (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
  /** An ISO-8601 time, as epoch milliseconds. */
  isoTime: () =>
    flagValue('an ISO-8601 time', (text) => {
      const ms = Date.parse(text);
      return Number.isNaN(ms) ? undefined : ms;
    }),
};
