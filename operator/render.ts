// `stockify render -f feed.yaml`: prints, as multi-document YAML, the objects the operator would
// apply for a MarketFeed (builders only, no cluster).
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { parseCommand } from '../services/core/cli.ts';
import { reportConfigError } from '../services/core/config.ts';
import { loadOperatorEnv } from './controller/config.ts';
import { parseMarketFeed, type SpecError } from './crd/validate.ts';
import { checkDhanBudget, desiredObjects } from './desired/index.ts';
import { DEFAULT_IMAGE } from './desired/meta.ts';
import { checkSchedule, isOpen, ScheduleError } from './schedule.ts';

const USAGE = `Usage: stockify render -f <feed.yaml> [--market open|closed|now] [--image <image>]

Prints the objects the operator would apply for each MarketFeed in the file.

Options:
  -f, --file <path>   MarketFeed YAML ('-' reads stdin)
  --market <state>    market hours to render for: open (default), closed, or now (from spec.schedule)
  --image <image>     default image when spec.image is unset (default: $STOCKIFY_IMAGE or stockify:dev)
  -h, --help          this help`;

export class RenderError extends Error {}

/** Renders every MarketFeed document of a YAML text; throws RenderError naming the bad field. */
export function renderYaml(text: string, opts: { market?: 'open' | 'closed' | 'now'; image?: string; now?: Date } = {}): string {
  const docs = parseAllDocuments(text);
  const out: string[] = [];
  for (const [i, doc] of docs.entries()) {
    const where = docs.length > 1 ? `document ${i + 1}: ` : '';
    if (doc.errors.length > 0) throw new RenderError(`${where}invalid YAML: ${doc.errors[0]?.message ?? 'parse error'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    let feed: ReturnType<typeof parseMarketFeed>;
    try {
      feed = parseMarketFeed(value);
      checkSchedule(feed.spec.schedule);
      checkDhanBudget(feed);
    } catch (err) {
      if (err instanceof ScheduleError || (err as SpecError).name === 'SpecError')
        throw new RenderError(`${where}${(err as Error).message}`);
      throw err;
    }
    const market = opts.market ?? 'open';
    const marketOpen = market === 'now' ? isOpen(feed.spec.schedule, opts.now ?? new Date()).open : market === 'open';
    for (const object of desiredObjects(feed, { marketOpen, ...(opts.image ? { image: opts.image } : {}) })) {
      out.push(stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }));
    }
  }
  if (out.length === 0) throw new RenderError('no MarketFeed found in the input');
  return out.map((d) => `---\n${d}`).join('');
}

const FLAGS = z.object({
  file: z.string({ error: 'is required: -f <feed.yaml>' }).min(1),
  market: z.enum(['open', 'closed', 'now']).optional(),
});

export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    usage: USAGE,
    options: { file: { type: 'string', short: 'f' }, market: { type: 'string' }, image: { type: 'string' } },
    schema: FLAGS,
  });
  if (!parsed.ok) return parsed.exitCode;
  const { file, market, image } = parsed.parsed.flags;
  let defaultImage: string;
  try {
    defaultImage = loadOperatorEnv().STOCKIFY_IMAGE ?? DEFAULT_IMAGE;
  } catch (err) {
    return reportConfigError(err);
  }
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    process.stderr.write(`stockify render: cannot read ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    const rendered = renderYaml(text, {
      ...(market ? { market } : {}),
      image: image ?? defaultImage,
    });
    process.stdout.write(rendered);
    return 0;
  } catch (err) {
    if (err instanceof RenderError) {
      process.stderr.write(`stockify render: ${file}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
