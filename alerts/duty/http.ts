import { backoffDelay, sleep } from '../../core/util/index.js';

/**
 * One JSON POST with retries, for the person notifiers: network errors, timeouts, 408, 429 and 5xx
 * are retried with backoff (equal jitter) up to `attempts`; other answers are final. `judge` reads
 * a 2xx body (the robots answer 200 with an errcode). Never rejects.
 */
export interface PostOptions {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  readonly headers?: Record<string, string>;
  readonly fetch?: typeof fetch;
  readonly judge?: (text: string) => 'ok' | 'retry' | 'fail';
}

export async function postJson(url: string | (() => string), body: string, o: PostOptions): Promise<{ ok: boolean; detail: string }> {
  const doFetch = o.fetch ?? fetch;
  let detail = 'not sent';
  for (let n = 1; n <= o.attempts; n++) {
    let retry = true;
    try {
      const res = await doFetch(typeof url === 'string' ? url : url(), {
        method: 'POST', body, headers: { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'anju-duty', ...o.headers },
        signal: AbortSignal.any([o.signal, AbortSignal.timeout(o.timeoutMs)]),
      });
      const text = await res.text().catch(() => '');
      if (res.ok) {
        const verdict = o.judge?.(text) ?? 'ok';
        if (verdict === 'ok') return { ok: true, detail: 'ok' };
        detail = `answered ${text.slice(0, 200)}`;
        retry = verdict === 'retry';
      } else {
        detail = `HTTP ${res.status}`;
        retry = res.status === 408 || res.status === 429 || res.status >= 500;
      }
    } catch (err) {
      detail = (err as Error).message;
    }
    if (!retry || n === o.attempts || o.signal.aborted) break;
    if (!(await sleep(backoffDelay(n - 1, { baseMs: o.baseDelayMs, maxMs: 30_000, jitter: 'equal' }), o.signal))) break;
  }
  return { ok: false, detail };
}
