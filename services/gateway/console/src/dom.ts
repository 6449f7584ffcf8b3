// A few lines of DOM building instead of a framework: h() makes an element, text() sets a text
// node only when it changed (so a live update touches the one cell that moved).

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function text(el: Element, value: string): void {
  if (el.textContent !== value) el.textContent = value;
}

/** The element with this id; a missing one is a bug in index.html, named in the error. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no element #${id}`);
  return el as T;
}

/** Runs fn at most once per animation frame however often it is asked for. */
export function throttled(fn: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}

/** Calls fn now and every ms until the returned stop is called; one call at a time, failures to onError. */
export function every(ms: number, fn: () => Promise<void>, onError: (err: unknown) => void): () => void {
  let timer: number | undefined;
  let stopped = false;
  const tick = async () => {
    try {
      await fn();
    } catch (err) {
      onError(err);
    } finally {
      if (!stopped) timer = window.setTimeout(tick, ms);
    }
  };
  void tick();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
