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
