// Secrets never leave the process in clear text: every log line, error and status goes through here.

const secrets = new Set<string>();
const MASK = '***';

/** Registers a value (token, password) that must never appear in output. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Registers the password of a connection URL, if it has one. */
export function registerUrlSecret(url: string | undefined): void {
  if (!url) return;
  try {
    const parsed = new URL(url);
    if (parsed.password) registerSecret(decodeURIComponent(parsed.password));
  } catch {
    // not a URL: nothing to register
  }
}

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@/\s]+)(@)/gi;

/** Masks registered secrets and any URL password in a string. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, `$1${MASK}$3`);
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(MASK);
  }
  return out;
}

/** Redacts every string inside a JSON-like value (returns a copy). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value instanceof Error) {
    const copy = new Error(redact(value.message));
    copy.name = value.name;
    if (value.stack) copy.stack = redact(value.stack);
    return copy as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v);
    return out as T;
  }
  return value;
}

/** Test hook: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}
