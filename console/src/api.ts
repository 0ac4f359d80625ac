/**
 * The console's only way to Prisme: the public admin API, same origin, with the admin bearer token
 * (locally the one `npm start` prints; on AWS a token the JWT authorizer accepts). The token lives in
 * this tab's session storage; `#token=...` in the address (the link `npm start` prints) sets it.
 */
const TOKEN_KEY = 'prisme.adminToken';

export function adoptTokenFromAddress(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]!));
  history.replaceState(null, '', `${location.pathname}#/`);
}

export const token = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value: string) => sessionStorage.setItem(TOKEN_KEY, value.trim());
export const signOut = () => sessionStorage.removeItem(TOKEN_KEY);

export interface FieldProblem {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }
}

// biome-ignore lint/suspicious/noExplicitAny: pages type the answers they read; untyped ones until the API's schemas are shared
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token() ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    const error = parsed?.error ?? parsed;
    throw new ApiError(response.status, error?.message ?? `${response.status} ${response.statusText}`, error?.details ?? []);
  }
  return parsed as T;
}

// biome-ignore lint/suspicious/noExplicitAny: as api()
export const get = <T = any>(path: string) => api<T>('GET', path);
// biome-ignore lint/suspicious/noExplicitAny: as api()
export const post = <T = any>(path: string, body?: unknown) => api<T>('POST', path, body);
// biome-ignore lint/suspicious/noExplicitAny: as api()
export const put = <T = any>(path: string, body: unknown) => api<T>('PUT', path, body);
