/** A tiny client of the admin API for the tools around the runtime (tests, benchmarks, screenshots): bearer token, JSON in and out. */
export interface AdminAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON, whose shape each caller asserts or prints
  body: any;
}

export function adminClient({ url, adminToken }: { url: string; adminToken: string }) {
  const call = async (method: string, path: string, body?: unknown): Promise<AdminAnswer> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  return {
    get: (path: string) => call('GET', path),
    put: (path: string, body: unknown) => call('PUT', path, body),
    post: (path: string, body?: unknown) => call('POST', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    delete: (path: string) => call('DELETE', path),
  };
}

/**
 * The admin API for tools that stop at the first refusal (the command line, the demo): the answer's JSON,
 * or an error naming the call, its status and the API's message. No token, no Authorization header.
 */
export function strictAdminClient({ url, adminToken }: { url: string; adminToken?: string }) {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(adminToken && { authorization: `Bearer ${adminToken}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const answer = (text ? JSON.parse(text) : {}) as T & { error?: { message?: string } };
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${answer.error?.message ?? text}`);
    return answer;
  };
}
