import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlertEngine } from '../../alerts/index.js';
import type { Device } from '../../core/index.js';
import { openStream, type SseEvent } from '../helpers/sse.js';
import { feed, startAlertsHarness, T0, type Harness } from './harness.js';

/** GET /api/alerts/stream over a real HTTP listener, read with fetch's streaming body. */

describe('api alerts SSE stream', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;
  let base: string;
  let sd1: Device;
  let sd2: Device;
  const logged: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk: Buffer, _e, cb) { logged.push(chunk.toString('utf8')); cb(); } }));

  beforeAll(async () => {
    ({ h, engine } = await startAlertsHarness(now, { alerts: { heartbeatMs: 100 } }, (d) => ({ ...d, logger })));
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    sd1 = (await h.deps.directory.create({ id: 'sd1', kind: 'smoke_detector', site: 'chundu', building: 'b1' })).device;
    sd2 = (await h.deps.directory.create({ id: 'sd2', kind: 'smoke_detector', site: 'chundu', building: 'b2' })).device;
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a missing or unknown token with 401', async () => {
    const none = await fetch(`${base}/api/alerts/stream`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await fetch(`${base}/api/alerts/stream?access_token=not-a-token`);
    expect(wrong.status).toBe(401);
  });

  it('delivers live events, resumes with Last-Event-ID replaying exactly the missed ones, and accepts ?access_token=', async () => {
    const s1 = await openStream(`${base}/api/alerts/stream?access_token=${h.tokens.viewer}`);
    expect(s1.res.status).toBe(200);
    expect(s1.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await feed(engine, sd1, T0, { smoke: 0.5, alarm: true });
    await s1.waitFor(() => s1.events.length === 1);
    const raised = s1.events[0] as SseEvent;
    expect(raised.event).toBe('raised');
    const data = JSON.parse(raised.data ?? '{}');
    expect(data).toMatchObject({ seq: Number(raised.id), type: 'raised', time: new Date(T0).toISOString(), alarm: { type: 'smoke', originator: { id: 'sd1' }, severity: 'critical' } });
    await s1.waitFor(() => s1.comments.includes('keep-alive'));
    await s1.close();

    // Missed while disconnected: an ack, a comment and a new alarm.
    const id = data.alarm.id as string;
    await engine.ack(id, 'someone');
    await engine.comment(id, 'someone', 'checking');
    await feed(engine, sd2, T0 + 1_000, { smoke: 0.6, alarm: true });
    await engine.idle();

    const s2 = await openStream(`${base}/api/alerts/stream`, { authorization: `Bearer ${h.tokens.viewer}`, 'last-event-id': raised.id ?? '' });
    await s2.waitFor(() => s2.events.length === 3);
    expect(s2.events.map((e) => e.event)).toEqual(['acked', 'commented', 'raised']);
    // The end of the replay is marked (a comment, which EventSource ignores) with the last id replayed.
    await s2.waitFor(() => s2.comments.includes(`replayed up to ${Number(raised.id) + 3}`));
    const seqs = s2.events.map((e) => Number(e.id));
    expect(seqs).toEqual([Number(raised.id) + 1, Number(raised.id) + 2, Number(raised.id) + 3]);
    // Then live, without a duplicate at the switch.
    await engine.clear(id, 'someone');
    await s2.waitFor(() => s2.events.length === 4);
    expect(s2.events[3]).toMatchObject({ event: 'cleared', id: String(Number(raised.id) + 4) });
    // A marker after it: once the marker is in, a duplicate of anything before it would be too.
    await engine.comment(id, 'someone', 'marker');
    await s2.waitFor(() => s2.events.some((e) => e.event === 'commented' && e.id === String(Number(raised.id) + 5)));
    expect(s2.events.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5].map((n) => Number(raised.id) + n));
    await s2.close();

    // ?lastEventId= does the same (for clients that build the URL themselves).
    const s3 = await openStream(`${base}/api/alerts/stream?lastEventId=${Number(raised.id) + 2}&access_token=${h.tokens.maintenance}`);
    await s3.waitFor(() => s3.events.length === 3);
    expect(s3.events.map((e) => e.event)).toEqual(['raised', 'cleared', 'commented']);
    await s3.close();
  });

  it('replays with no gap and no duplicate while events keep arriving during the replay', async () => {
    const from = Number((await engine.eventsSince(0, 10_000)).at(-1)?.seq ?? 0);
    const s = await openStream(`${base}/api/alerts/stream?lastEventId=0&access_token=${h.tokens.viewer}`);
    const burst: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      // One per building: two in one building would also confirm its fire (a fire_risk alarm), which this test does not count.
      const d = (await h.deps.directory.create({ id: `sdx${i}`, kind: 'smoke_detector', site: 'chundu', building: `b9-${i}` })).device;
      burst.push(feed(engine, d, T0 + 10_000 + i, { smoke: 0.5, alarm: true }));
    }
    await Promise.all(burst);
    await s.waitFor(() => s.events.length === from + 20);
    expect(s.events.map((e) => Number(e.id))).toEqual(Array.from({ length: from + 20 }, (_, i) => i + 1));
    await s.close();
  });

  it('never writes the access token to the log and cleans up on disconnect', async () => {
    const gauge = async () => (await h.deps.metrics.getSingleMetric('anju_sse_clients')?.get())?.values[0]?.value;
    await vi.waitFor(async () => expect(await gauge()).toBe(0));
    const s = await openStream(`${base}/api/alerts/stream?access_token=${h.tokens.viewer}`);
    await s.waitFor(() => s.comments.length > 0);
    expect(await gauge()).toBe(1);
    await s.close();
    await vi.waitFor(async () => expect(await gauge()).toBe(0));
    expect(logged.length).toBeGreaterThan(0);
    for (const t of Object.values(h.tokens)) expect(logged.join('\n')).not.toContain(t);
  });
});
