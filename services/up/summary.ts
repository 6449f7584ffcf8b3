// What `stockify up` prints when it stops: where the data is and how to look at it. Pure.
import { redact } from '../core/redact.ts';
import { formatDuration, formatInt } from './view.ts';

export interface StopSummaryInput {
  feed: string;
  ranMs: number;
  processes: number;
  restarts: number;
  /** Processes that ignored SIGTERM and were killed. */
  killed: readonly string[];
  databaseUrl?: string;
  dbSchema: string;
  tables: readonly string[];
  /** Rows written during this run, per table (from the last scrape). */
  rowsByTable: Readonly<Record<string, number>>;
  redisUrl?: string;
  logFiles: string;
  chainSymbol?: string;
  levelIds: readonly string[];
  /** The MarketData endpoint when it is not the default that `stockify query` uses. */
  queryEndpoint?: string;
}

export function stopSummary(s: StopSummaryInput): string {
  const lines: string[] = [];
  const killed = s.killed.length > 0 ? `; killed after the grace period: ${s.killed.join(', ')}` : '';
  lines.push(
    `stockify up: stopped ${s.feed} after ${formatDuration(s.ranMs)} (${s.processes} processes, ${s.restarts} restart${s.restarts === 1 ? '' : 's'}${killed})`,
  );
  lines.push('');
  const where = s.databaseUrl ? redact(s.databaseUrl) : '$DATABASE_URL';
  lines.push(`Data: PostgreSQL ${where}, schema ${s.dbSchema}`);
  for (const t of s.tables) {
    const n = s.rowsByTable[t];
    lines.push(`  ${s.dbSchema}.${t}${n === undefined ? '' : `  (${formatInt(n)} rows written this run)`}`);
  }
  if (s.redisUrl) lines.push(`Latest state: Redis ${redact(s.redisUrl)} (latest:<instrument>, live:<instrument>)`);
  lines.push(`Logs: ${s.logFiles}`);
  lines.push('');
  const endpoint = s.queryEndpoint ? ` --endpoint ${s.queryEndpoint}` : '';
  lines.push('Query it — gRPC while `stockify up` runs, SQL at any time:');
  if (s.chainSymbol) lines.push(`  stockify query chain ${s.chainSymbol}${endpoint}`);
  if (s.levelIds.length > 0) lines.push(`  stockify query latest ${s.levelIds.join(' ')}${endpoint}`);
  const firstLevel = s.levelIds[0] ?? '';
  lines.push(
    `  psql "$DATABASE_URL" -c "SELECT minute_start, open, high, low, close, volume FROM ${s.dbSchema}.bars_1m WHERE instrument_id = '${firstLevel}' ORDER BY minute_start DESC LIMIT 10"`,
  );
  return `${lines.join('\n')}\n`;
}
