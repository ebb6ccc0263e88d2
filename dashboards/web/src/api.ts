/// <reference lib="dom" />

/**
 * The API client: same origin, coded errors (`{error: {code, message}}`) turned into ApiError.
 * A person logged in with name and password is known by the HttpOnly session cookie the browser
 * sends by itself, and every change (POST, PUT, PATCH, DELETE) carries the CSRF token the log-in
 * answered in `X-CSRF-Token`; an integration or the bootstrap admin sends `Authorization: Bearer
 * <token>` instead. A 401 means the session ended or the token is gone: `onUnauthorized` sends the
 * user back to the login screen.
 */

/** How the control room proves who it is: a person's session (cookie + CSRF token) or an API token. */
export type Credentials = { readonly csrf: string } | { readonly token: string };

// RFC 9110 §9.2.1: the methods that change nothing need no CSRF token.
const safeMethods = new Set(['GET', 'HEAD']);

/** One refused field of a `validation_failed` answer: where it is (`in`, `path`) and why. */
export interface ApiErrorDetail { readonly in?: string; readonly path: string; readonly message: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: readonly ApiErrorDetail[] = []) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiClient {
  readonly creds: Credentials;
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

function authHeaders(creds: Credentials, method: string): Record<string, string> {
  if ('token' in creds) return { authorization: `Bearer ${creds.token}` };
  return safeMethods.has(method) ? {} : { 'x-csrf-token': creds.csrf };
}

export function createApiClient(creds: Credentials, onUnauthorized: () => void): ApiClient {
  const request = async (method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: { ...authHeaders(creds, method), accept, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : null,
        cache: 'no-store',
        credentials: 'same-origin',
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
    creds,
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

/** Checks credentials without the app's 401 handling: the login screen's own call. */
export async function fetchSession<T>(creds: Credentials): Promise<T> {
  const client = createApiClient(creds, () => undefined);
  return client.get<T>('/api/session');
}

/** `POST /api/session/login`: sets the session cookie; resolves with the CSRF token for changes. */
export async function passwordLogin(login: string, password: string): Promise<{ csrfToken: string }> {
  let res: Response;
  try {
    res = await fetch('/api/session/login', {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ login, password }), cache: 'no-store', credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'network', (err as Error).message || 'network error');
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as { csrfToken: string };
}
