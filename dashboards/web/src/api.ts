/// <reference lib="dom" />

/**
 * The API client: same origin, `Authorization: Bearer <token>` on every call, coded errors
 * (`{error: {code, message}}`) turned into ApiError. A 401 means the token is gone or revoked:
 * `onUnauthorized` sends the user back to the login screen.
 */

/** One refused field of a `validation_failed` answer: where it is (`in`, `path`) and why. */
export interface ApiErrorDetail { readonly in?: string; readonly path: string; readonly message: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: readonly ApiErrorDetail[] = []) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  readonly token: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
  /** DELETE; the answer (204) has no body. */
  del(path: string): Promise<void>;
  text(path: string, query?: Record<string, string | number | undefined>): Promise<string>;
}

export function withQuery(path: string, query?: Record<string, string | number | undefined>): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let details: ApiErrorDetail[] = [];
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; details?: ApiErrorDetail[] } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
    if (Array.isArray(body.error?.details)) details = body.error.details;
  } catch {
    // Not JSON (a proxy's error page): keep the status text.
  }
  return new ApiError(res.status, code, message, details);
}

export function createApiClient(token: string, onUnauthorized: () => void): ApiClient {
  const request = async (method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${token}`, accept, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : null,
        cache: 'no-store',
      });
    } catch (err) {
      throw new ApiError(0, 'network', (err as Error).message || 'network error');
    }
    if (res.status === 401) {
      onUnauthorized();
      throw await errorOf(res);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  };
  return {
    token,
    async get<T>(path: string, query?: Record<string, string | number | undefined>) {
      return (await (await request('GET', withQuery(path, query))).json()) as T;
    },
    async post<T>(path: string, body?: unknown) {
      return (await (await request('POST', path, body)).json()) as T;
    },
    async put<T>(path: string, body: unknown) {
      return (await (await request('PUT', path, body)).json()) as T;
    },
    async patch<T>(path: string, body: unknown) {
      return (await (await request('PATCH', path, body)).json()) as T;
    },
    async del(path: string) {
      await request('DELETE', path);
    },
    async text(path: string, query?: Record<string, string | number | undefined>) {
      return (await request('GET', withQuery(path, query), undefined, 'text/html')).text();
    },
  };
}

/** Checks a token without the app's 401 handling: the login screen's own call. */
export async function fetchSession<T>(token: string): Promise<T> {
  const client = createApiClient(token, () => undefined);
  return client.get<T>('/api/session');
}
