#!/usr/bin/env node
// The `stockify` command line: every component and tool is a subcommand. services/stockify.js runs it.
import { enableCompileCache } from 'node:module';

export interface Command {
  summary: string;
  /** Loads the subcommand lazily so each process loads only what it runs. */
  load: () => Promise<{ run: (args: string[]) => Promise<number> }>;
  /**
   * A one-shot client tool: it has no incoming context to propagate, so tracing (and its imports,
   * ~0.25 s of CPU) starts only when an OTLP endpoint asks for spans.
   */
  tool?: true;
}

export const COMMANDS: Record<string, Command> = {
  ingestion: {
    summary: 'run one ingestion shard (simulator, replay or Dhan source → Kafka)',
    load: () => import('./ingestion/main.ts'),
  },
  processor: {
    summary: 'run one processor shard (normalise, IV and Greeks, chains, GEX, bars)',
    load: () => import('./processor/main.ts'),
  },
  storage: {
    summary: 'run one storage shard (PostgreSQL history, Redis live state, gRPC MarketData)',
    load: () => import('./storage/main.ts'),
  },
  operator: { summary: 'run the MarketFeed operator', load: () => import('../operator/main.ts') },
  render: {
    summary: 'print the objects the operator would apply for a MarketFeed',
    load: () => import('../operator/render.ts'),
    tool: true,
  },
  up: { summary: 'run a MarketFeed as local processes with a live view (standalone mode)', load: () => import('./up/main.ts') },
  gateway: {
    summary: 'serve a feed over REST, WebSocket and SSE with JWT auth (and the web console)',
    load: () => import('./gateway/main.ts'),
  },
  query: {
    summary: 'query a MarketData endpoint: latest, ticks, bars, chain, stream',
    load: () => import('./query/main.ts'),
    tool: true,
  },
  greeks: {
    summary: 'implied volatility and Greeks for JSON Lines contracts on stdin',
    load: () => import('./processor/greeks-cli.ts'),
    tool: true,
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: stockify <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `stockify <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`stockify: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  // Imported here, not at the top: `stockify --help` loads nothing but this file.
  if (!command.tool || process.env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const { startTracing } = await import('./core/tracing.ts');
    await startTracing(`stockify-${name}`);
  }
  const module = await command.load();
  return module.run(rest);
}

/** Runs the command line of this process and sets its exit code. */
export function start(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`stockify: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

if (import.meta.main) {
  // Run directly (`node services/cli.ts`): the cache serves the modules imported from here on; the
  // launcher services/stockify.js turns it on before this file too.
  enableCompileCache();
  start();
}
