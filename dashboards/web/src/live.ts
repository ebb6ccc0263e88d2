/// <reference lib="dom" />
/**
 * One EventSource per stream for the whole app (alarms, incidents). The browser reconnects by itself after a
 * dropped connection and sends `Last-Event-ID`, so the server replays what was missed. When the
 * server refuses the stream (an HTTP error: a revoked token, a restart in progress) EventSource
 * gives up for good; then we check the session (`onClosed`, which logs out on 401) and open a new
 * one with `?lastEventId=` after a backoff of 1 s doubling to 30 s.
 */

export type LiveState = 'connecting' | 'open' | 'down';
/** The `event:` names both streams use (alarm and incident events share the vocabulary). */
const eventTypes = ['raised', 'updated', 'acked', 'assigned', 'commented', 'cleared', 'escalated', 'reminder'] as const;

export interface Live {
  state(): LiveState;
  close(): void;
}

export interface LiveOptions<E> {
  /** `/api/alerts/stream` or `/api/incidents/stream`. */
  path: string;
  /** An API token (sent as `?access_token=`: EventSource cannot send headers); without one the session cookie goes along by itself. */
  token?: string;
  onEvent(e: E): void;
  onState(s: LiveState): void;
  /** The stream was refused; resolves false when the app should stop (logged out). */
  onClosed(): Promise<boolean>;
}

export function connectLive<E>(opts: LiveOptions<E>): Live {
  let es: EventSource | undefined;
  let state: LiveState = 'connecting';
  let lastId: string | undefined;
  let backoff = 1_000;
  let timer: number | undefined;
  let closed = false;

  const setState = (s: LiveState) => {
    if (s === state) return;
    state = s;
    opts.onState(s);
  };

  const open = () => {
    if (closed) return;
    const q = new URLSearchParams(opts.token !== undefined ? { access_token: opts.token } : {});
    if (lastId !== undefined) q.set('lastEventId', lastId);
    const query = q.toString();
    es = new EventSource(query ? `${opts.path}?${query}` : opts.path);
    es.onopen = () => {
      backoff = 1_000;
      setState('open');
    };
    es.onerror = () => {
      if (!es || closed) return;
      if (es.readyState === EventSource.CLOSED) {
        es = undefined;
        setState('down');
        void opts.onClosed().then((goOn) => {
          if (!goOn || closed) return;
          timer = window.setTimeout(open, backoff);
          backoff = Math.min(backoff * 2, 30_000);
        });
      } else {
        setState('down');
      }
    };
    const handle = (ev: MessageEvent<string>) => {
      // Reminders carry seq 0: only a higher id moves the resume point.
      if (ev.lastEventId && (lastId === undefined || Number(ev.lastEventId) > Number(lastId))) lastId = ev.lastEventId;
      try {
        opts.onEvent(JSON.parse(ev.data) as E);
      } catch {
        // A malformed event is skipped; the next one or a refresh brings the state back.
      }
    };
    for (const type of eventTypes) es.addEventListener(type, handle);
  };

  opts.onState(state);
  open();
  return {
    state: () => state,
    close() {
      closed = true;
      if (timer !== undefined) window.clearTimeout(timer);
      es?.close();
      es = undefined;
    },
  };
}
