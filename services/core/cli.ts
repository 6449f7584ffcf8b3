// Subcommand argument parsing on node:util parseArgs: --help everywhere, unknown flags → usage, exit 2.
import { type ParseArgsConfig, parseArgs } from 'node:util';

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>['values'];
  positionals: string[];
}

/**
 * Parses a subcommand's arguments. Returns undefined after printing help (exit 0) or usage on an
 * error (exit 2): callers return `exitCode` then.
 */
export function parseCommand<O extends Options>(
  args: string[],
  spec: { usage: string; options: O },
): { ok: true; parsed: Parsed<O> } | { ok: false; exitCode: number } {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${spec.usage}\n`);
    return { ok: false, exitCode: 0 };
  }
  try {
    const parsed = parseArgs({ args, options: spec.options, allowPositionals: true, strict: true });
    return { ok: true, parsed: parsed as Parsed<O> };
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${spec.usage}\n`);
    return { ok: false, exitCode: 2 };
  }
}
