import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogFeed } from '../../alerts/event-feed.js';

/**
 * The cluster's event feed over a log (the shared PostgreSQL log is the real one, exercised by the
 * cluster tests; an array is the narrow seam here): a poke that comes while a read is finishing must
 * make another read, not wait for the next poll.
 */
interface E { seq: number }
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('event feed (createLogFeed)', () => {
  it('reads again for a poke that comes at any point of a read\'s ending, without waiting for the poll', async () => {
    for (let offset = 0; offset < 12; offset++) {
      const log: E[] = [];
      let release!: () => void;
      let gate = new Promise<void>((r) => { release = r; });
      const feed = createLogFeed<E>({ pollMs: 3_600_000, what: 'test' }, {
        eventsSince: async (seq) => {
          await gate;
          return log.filter((e) => e.seq > seq);
        },
        lastSeq: async () => 0,
        logger: pino({ level: 'silent' }),
      });
      await feed.start();
      const seen: number[] = [];
      feed.subscribe((e) => seen.push(e.seq));
      log.push({ seq: 1 });
      feed.poke();
      const opened = gate;
      gate = Promise.resolve();
      release();
      await opened;
      // `offset` microtasks after the read's page came back, another event and its poke.
      for (let k = 0; k < offset; k++) await Promise.resolve();
      log.push({ seq: 2 });
      feed.poke();
      for (let k = 0; k < 5; k++) await tick();
      expect({ offset, seen }).toEqual({ offset, seen: [1, 2] });
      feed.stop();
    }
  });
});
