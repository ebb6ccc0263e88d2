import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameScanner } from '../../broker/frame-guard.js';
import { KeyedTokenBuckets } from '../../core/rate-limit.js';
import { INGEST, closedByBroker, device, nextMessage, refusal, startBroker } from './harness.js';
import { remainingLength } from './raw.js';
import type { TestBroker } from './harness.js';

const MAX_FRAME = 4096;

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

function socketClosed(s: Socket, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error('socket still open')), timeoutMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('frame guard', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker({ maxFrameBytes: MAX_FRAME });
  });
  afterAll(() => t.close());

  it('closes a connection announcing an oversized packet before its body arrives', async () => {
    const s = await rawSocket(t.broker.tcpPort);
    s.on('error', () => undefined);
    // A PUBLISH header announcing 200 MB, then a trickle of body: Aedes would buffer all of it.
    s.write(Buffer.from([0x30, ...remainingLength(200_000_000)]));
    s.write(Buffer.alloc(1024));
    await socketClosed(s);
    expect(await t.metric('anju_broker_connections_refused_total', { reason: 'frame_too_large' })).toBe(1);
  });

  it('closes an authenticated client sending a too-large PUBLISH; the broker and others carry on', async () => {
    const w = await t.connect({ clientId: 'ingest', username: INGEST.username, password: INGEST.password });
    await w.subscribeAsync('devices/+/telemetry', { qos: 1 });
    const d1 = await t.connect(device('d1'));
    const d2 = await t.connect(device('d2'));
    const seen: string[] = [];
    w.on('message', (topic) => seen.push(topic));

    // A packet of exactly the limit passes…
    const fits = nextMessage(w, 'devices/d1/telemetry');
    const header = 2 + 'devices/d1/telemetry'.length; // topic length prefix + topic, QoS 0
    await d1.publishAsync('devices/d1/telemetry', Buffer.alloc(MAX_FRAME - header, 0x20));
    await fits;
    // …one byte more does not.
    d1.publish('devices/d1/telemetry', Buffer.alloc(MAX_FRAME - header + 1, 0x20));
    await closedByBroker(d1);
    expect(seen).toEqual(['devices/d1/telemetry']);

    const ok = nextMessage(w, 'devices/d2/telemetry');
    await d2.publishAsync('devices/d2/telemetry', '{"fill":10}', { qos: 1 });
    expect((await ok).payload).toBe('{"fill":10}');
    expect(t.broker.closed).toBe(false);
    await Promise.all([w.endAsync(), d2.endAsync()]);
  });

  it('bounds WebSocket messages too', async () => {
    const d1 = await t.connect(device('d1'), 'ws');
    d1.publish('devices/d1/telemetry', Buffer.alloc(MAX_FRAME * 4));
    await closedByBroker(d1);
  });
});

describe('FrameScanner', () => {
  const publish = (bodyLength: number) => Buffer.from([0x30, ...remainingLength(bodyLength), ...Buffer.alloc(bodyLength)]);

  it('follows packet boundaries across chunks of any size', () => {
    const stream = Buffer.concat([publish(10), publish(127), publish(128), publish(300), Buffer.from([0xc0, 0x00])]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const scanner = new FrameScanner(300);
      for (let i = 0; i < stream.length; i += size) expect(scanner.scan(stream.subarray(i, i + size))).toBe('ok');
    }
  });

  it('refuses a header above the limit even when its length bytes are split', () => {
    const scanner = new FrameScanner(300);
    expect(scanner.scan(publish(5))).toBe('ok');
    const big = Buffer.from([0x30, ...remainingLength(301)]);
    // 301 = 0xad 0x02: the first length byte (45, "more follows") is not yet over the limit…
    expect(scanner.scan(big.subarray(0, 2))).toBe('ok');
    // …the second, arriving in the next chunk, is.
    expect(scanner.scan(big.subarray(2))).toBe('too_large');
  });

  it('refuses as soon as the partial length exceeds the limit, and a fifth length byte', () => {
    expect(new FrameScanner(100).scan(Buffer.from([0x30, 0xff]))).toBe('too_large'); // ≥ 127 already
    expect(new FrameScanner(Number.MAX_SAFE_INTEGER).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe('too_large');
  });
});

describe('connection rate limit', () => {
  let t: TestBroker;
  beforeAll(async () => {
    t = await startBroker({ connectRatePerMinute: 3 });
  });
  afterAll(() => t.close());

  it('refuses the N+1th connection from one IP within a minute', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await t.connect(device('d1', { clientId: `d1:${i}` }));
      await c.endAsync();
    }
    expect(await refusal(t.connect(device('d1', { clientId: 'd1:3' })))).toBe("Couldn't connect to server");
    expect(await t.metric('anju_broker_connections_refused_total', { reason: 'rate_limit' })).toBe(1);
  });
});

describe('KeyedTokenBuckets', () => {
  it('refills continuously and keeps its map bounded', () => {
    let now = 0;
    const limiter = new KeyedTokenBuckets(60, 2, () => now);
    for (let i = 0; i < 60; i++) expect(limiter.tryTake('a')).toBe(true);
    expect(limiter.tryTake('a')).toBe(false);
    expect(limiter.waitMs('a')).toBe(1000);
    expect(limiter.waitMs('fresh')).toBe(0);
    now += 1000; // one token per second
    expect(limiter.waitMs('a')).toBe(0);
    expect(limiter.tryTake('a')).toBe(true);
    expect(limiter.tryTake('a')).toBe(false);
    limiter.tryTake('b');
    limiter.tryTake('c');
    expect(limiter.size).toBe(2);
    now += 120_000;
    limiter.sweep();
    expect(limiter.size).toBe(0);
  });
});
