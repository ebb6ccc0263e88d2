import { describe, expect, it } from 'vitest';
import { createSerialQueue } from '../../../core/util/index.js';

describe('createSerialQueue', () => {
  it('runs one job at a time, in the order given', async () => {
    const q = createSerialQueue();
    const log: string[] = [];
    let running = 0;
    const job = (name: string, ticks: number) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`start ${name}`);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      log.push(`end ${name}`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([q.run(job('a', 5)), q.run(job('b', 1)), q.run(job('c', 3))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('gives each caller its own failure and carries on with the next job', async () => {
    const q = createSerialQueue();
    const failed = q.run(() => Promise.reject(new Error('boom')));
    const thrown = q.run(() => { throw new Error('sync boom'); });
    const ok = q.run(() => 42);
    await expect(failed).rejects.toThrow('boom');
    await expect(thrown).rejects.toThrow('sync boom');
    await expect(ok).resolves.toBe(42);
  });

  it('idle waits for every job queued so far, whatever its outcome', async () => {
    const q = createSerialQueue();
    const done: number[] = [];
    void q.run(async () => { await new Promise((r) => setTimeout(r, 5)); done.push(1); });
    q.run(() => Promise.reject(new Error('x'))).catch(() => undefined);
    void q.run(() => { done.push(3); });
    await q.idle();
    expect(done).toEqual([1, 3]);
  });
});
