// A small parser of the Prometheus text exposition format (what prom-client serves on /metrics).
// Pure: text in, samples out. Lines it cannot read are skipped and counted, never thrown.

export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  /** Metric family name → type from `# TYPE` lines (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  /** Lines that were neither comments nor valid samples. */
  invalidLines: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string): number | undefined {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
    default: {
      if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
      return Number(text);
    }
  }
}

/** Parses `{a="1",b="x\"y"}` starting at `{`; returns the labels and the index after `}`. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i += 1;
    if (line[i] === '}') return { labels, end: i + 1 };
    const name = LABEL_NAME.exec(line.slice(i))?.[0];
    if (!name) return undefined;
    i += name.length;
    while (line[i] === ' ') i += 1;
    if (line[i] !== '=') return undefined;
    i += 1;
    while (line[i] === ' ') i += 1;
    if (line[i] !== '"') return undefined;
    i += 1;
    let value = '';
    for (;;) {
      const ch = line[i];
      if (ch === undefined) return undefined;
      if (ch === '"') break;
      if (ch === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
        continue;
      }
      value += ch;
      i += 1;
    }
    labels[name] = value;
    i += 1;
  }
}

export function parsePrometheus(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  let invalidLines = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (m?.[1] && m[2]) types.set(m[1], m[2]);
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (!name) {
      invalidLines += 1;
      continue;
    }
    let i = name.length;
    let labels: Record<string, string> = {};
    if (line[i] === '{') {
      const parsed = parseLabels(line, i);
      if (!parsed) {
        invalidLines += 1;
        continue;
      }
      labels = parsed.labels;
      i = parsed.end;
    }
    const [valueText] = line.slice(i).trim().split(/\s+/);
    const value = parseValue(valueText ?? '');
    if (value === undefined) {
      invalidLines += 1;
      continue;
    }
    samples.push({ name, labels, value });
  }
  return { samples, types, invalidLines };
}

/**
 * Sum of the samples named `name` whose labels include `match` and none of `exclude` (all label
 * sets when both are empty); undefined when no such sample exists, so "not exported" differs from
 * "zero".
 */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  match: Readonly<Record<string, string>> = {},
  exclude: Readonly<Record<string, string>> = {},
): number | undefined {
  let total: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (!Object.entries(match).every(([k, v]) => s.labels[k] === v)) continue;
    if (Object.entries(exclude).some(([k, v]) => s.labels[k] === v)) continue;
    if (Number.isNaN(s.value)) continue;
    total = (total ?? 0) + s.value;
  }
  return total;
}
