// The token form shown when spec.auth is on: the token is checked against the API before the
// console starts (401: not accepted, 403: a scope is missing) and kept for this tab only.
import { type Api, ApiError } from './api.ts';
import { byId, text } from './dom.ts';
import { problemText } from './view.ts';

const KEY = 'stockify.token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/** Resolves once the API accepts a token (the stored one, or one typed into the form). */
export async function login(api: Api, firstError?: string): Promise<void> {
  const stored = storedToken();
  if (stored && !firstError) {
    api.token = stored;
    try {
      await api.checkToken();
      return;
    } catch (err) {
      forgetToken();
      firstError = messageOf(err);
    }
  }
  const form = byId<HTMLFormElement>('login');
  const input = byId<HTMLInputElement>('login-token');
  const error = byId('login-error');
  form.hidden = false;
  text(error, firstError ?? '');
  input.focus();
  await new Promise<void>((resolve) => {
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      text(error, '');
      api.token = input.value.trim();
      try {
        await api.checkToken();
      } catch (err) {
        text(error, messageOf(err));
        return;
      }
      sessionStorage.setItem(KEY, api.token);
      form.hidden = true;
      resolve();
    };
  });
}

function messageOf(err: unknown): string {
  return err instanceof ApiError ? problemText(err.problem) : `Login failed: ${(err as Error).message}`;
}
