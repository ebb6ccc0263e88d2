import type { Logger } from 'pino';

/**
 * A cluster's event stream: every alarm or incident event, whichever node decided it, in seq order,
 * read from the shared event log (PostgreSQL) rather than taken from this node's engine. Each node's
 * SSE clients see every event once, and a client resuming with Last-Event-ID on another node misses
 * nothing: the log's seqs are gap-free and commits become visible in seq order (storage/postgres/
 * keyed-log.ts), so reading after the last seq handed out never skips one committed later.
 *
 * `poke()` asks for a read: on this node's own commits, on each notification of another node's
 * (LISTEN/NOTIFY), and every `pollMs` in case a notification was lost. Reads run one at a time; pokes
 * during a read make one more.
 */

export interface EventFeed<E extends { readonly seq: number }> {
  subscribe(listener: (e: E) => void): () => void;
  eventsSince(seq: number, limit?: number): Promise<E[]>;
}

export interface LogFeed<E extends { readonly seq: number }> extends EventFeed<E> {
  /** Starts after the log's last seq (what came before is the replay's). */
  start(): Promise<void>;
  poke(): void;
  stop(): void;
}

export function createLogFeed<E extends { readonly seq: number }>(
  config: { pollMs: number; what: string },
  deps: { eventsSince(seq: number, limit: number): Promise<E[]>; lastSeq(): Promise<number>; logger: Logger },
): LogFeed<E> {
  const log = deps.logger.child({ feed: config.what });
  const listeners = new Set<(e: E) => void>();
  let position = 0;
  let reading: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  async function read(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const page = await deps.eventsSince(position, 1_000);
        for (const e of page) {
          if (e.seq <= position) continue;
          position = e.seq;
          for (const l of listeners) {
            try {
              l(e);
            } catch (err) {
              log.error({ err, seq: e.seq }, 'event feed listener failed');
            }
          }
        }
        if (page.length < 1_000 || stopped) break;
      }
    } while (again && !stopped);
  }

  function poke(): void {
    if (stopped) return;
    if (reading) {
      again = true;
      return;
    }
    reading = read().then(() => {
      if (failing) log.info('event feed reads the log again');
      failing = false;
    }, (err: unknown) => {
      // The next poke or poll reads from the same position: nothing is skipped.
      if (!failing) log.warn({ err }, 'event feed could not read the log; retrying on the next poll');
      failing = true;
    }).finally(() => {
      reading = undefined;
      // A poke between the read's last look at `again` and here found `reading` still set: read for it now,
      // not at the next poll.
      if (again && !stopped) {
        again = false;
        poke();
      }
    });
  }

  return {
    async start() {
      position = await deps.lastSeq();
      timer = setInterval(poke, config.pollMs);
      timer.unref();
    },
    poke,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsSince: (seq, limit) => deps.eventsSince(seq, limit ?? 1_000),
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
