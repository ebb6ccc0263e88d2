import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Device, Reading } from '../../core/index.js';
import { anjuTelemetryRoute, createPipeline, createRejectLog, createTopicMapper, defaultPipelineConfig, type RejectReason } from '../../ingest/index.js';
import { goldenCases } from '../helpers/fixtures.js';

const registry: Device[] = [
  { id: 'sd-1', kind: 'smoke_detector', site: 's1', building: 'b1', name: 'stairwell', createdAt: 0 },
  { id: 'pm-1', kind: 'power_meter', site: 's1', building: 'b2', name: 'lighting', purpose: 'common_lighting', createdAt: 0 },
  { id: 'bin-1', kind: 'smart_bin', site: 's1', building: 'b1', name: 'kitchen bin', category: 'kitchen', createdAt: 0 },
];

function setup() {
  const devices = new Map(registry.map((d) => [d.id, d]));
  const readings: Reading[] = [];
  const metrics = new Registry();
  const rejects = createRejectLog({ capacity: 100 }, { metrics });
  const errors: unknown[] = [];
  const pipeline = createPipeline(defaultPipelineConfig, {
    devices: { get: (id) => devices.get(id) },
    consumers: [{ name: 'collect', accept: (batch) => void readings.push(...batch) }],
    rejects,
    // Anything logged at error is an unexpected failure: no golden case may reach it.
    logger: pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) }),
    metrics,
    topics: createTopicMapper({ routes: [anjuTelemetryRoute, { pattern: 'zigbee2mqtt/{id}', codec: 'zigbee2mqtt' }] }),
  });
  return { pipeline, readings, rejects, metrics, errors };
}

type Input = { topic: string; payload: string; receivedAt: number };
type Expected = { reading: Reading } | { reject: RejectReason; device?: string; detail?: string };

function payloadOf(input: Input): Buffer {
  return input.payload.startsWith('base64:') ? Buffer.from(input.payload.slice(7), 'base64') : Buffer.from(input.payload);
}

describe('ingest pipeline (golden cases in test/fixtures/ingest)', () => {
  for (const { name, input, expected } of goldenCases<Input, Expected>('ingest')) {
    it(name, async () => {
      const { pipeline, readings, rejects, errors } = setup();
      await pipeline.handle({ topic: input.topic, payload: payloadOf(input), receivedAt: input.receivedAt, source: 'test' });
      expect(errors).toEqual([]);
      if ('reading' in expected) {
        expect(rejects.list({ limit: 10, offset: 0 }).items).toEqual([]);
        expect(readings).toEqual([expected.reading]);
      } else {
        expect(readings).toEqual([]);
        const [reject] = rejects.list({ limit: 10, offset: 0 }).items;
        expect(reject?.reason).toBe(expected.reject);
        expect(reject?.detail.length).toBeGreaterThan(10);
        expect(reject?.topic).toBe(input.topic);
        if (expected.device) expect(reject?.device).toBe(expected.device);
        if (expected.detail) expect(reject?.detail).toContain(expected.detail);
      }
    });
  }
});

describe('ingest pipeline', () => {
  const now = Date.UTC(2026, 10, 25);
  const msg = (payload: unknown, topic = 'devices/sd-1/telemetry') => ({ topic, payload: Buffer.from(JSON.stringify(payload)), receivedAt: now, source: 'test' });

  it('drops a redelivered (device, seq, ts) once, keeps a rebooted counter with new timestamps', async () => {
    const { pipeline, readings } = setup();
    await pipeline.handle(msg({ smoke: 0.01, seq: 7, ts: now - 1000 }));
    await pipeline.handle(msg({ smoke: 0.01, seq: 7, ts: now - 1000 }));
    await pipeline.handle(msg({ smoke: 0.01, seq: 7 }));
    await pipeline.handle(msg({ smoke: 0.01, seq: 7 }));
    await pipeline.handle(msg({ smoke: 0.02, seq: 7, ts: now - 500 }));
    expect(readings.map((r) => r.ts)).toEqual([now - 1000, now, now - 500]);
    expect(pipeline.stats()).toMatchObject({ received: 5, accepted: 3, duplicates: 2, rejected: 0 });
  });

  it('counts messages by source and accepted readings by kind, across scrapes', async () => {
    const { pipeline, metrics } = setup();
    await pipeline.handle(msg({ smoke: 0.01, seq: 1 }));
    await pipeline.handle(msg({ smoke: 0.01, seq: 1 })); // a repeat: received, not accepted
    await pipeline.handle(msg({ energy: 12.5 }, 'devices/pm-1/telemetry'));
    await pipeline.handle({ ...msg({}), payload: Buffer.from('not json') });
    expect(await metrics.getSingleMetricAsString('anju_ingest_messages_total')).toContain('source="test"} 4');
    let accepted = await metrics.getSingleMetricAsString('anju_ingest_accepted_total');
    expect(accepted).toContain('kind="smoke_detector"} 1');
    expect(accepted).toContain('kind="power_meter"} 1');
    await pipeline.handle({ ...msg({ smoke: 0.02 }), source: 'mqtt' });
    expect(await metrics.getSingleMetricAsString('anju_ingest_messages_total')).toMatch(/source="test"} 4[\s\S]*source="mqtt"} 1/);
    accepted = await metrics.getSingleMetricAsString('anju_ingest_accepted_total');
    expect(accepted).toContain('kind="smoke_detector"} 2');
    expect(accepted).toContain('kind="power_meter"} 1');
  });

  it('keeps going when a consumer throws, and counts it', async () => {
    const metrics = new Registry();
    const got: Reading[] = [];
    const rejects = createRejectLog({ capacity: 10 }, { metrics: new Registry() });
    const pipeline = createPipeline(defaultPipelineConfig, {
      devices: { get: (id) => registry.find((d) => d.id === id) },
      consumers: [{ name: 'broken', accept: () => { throw new Error('boom'); } }, { name: 'ok', accept: (b) => void got.push(...b) }],
      rejects, logger: pino({ level: 'silent' }), metrics,
    });
    await pipeline.handle(msg({ smoke: 0.01 }));
    expect(got).toHaveLength(1);
    expect(await metrics.getSingleMetricAsString('anju_ingest_consumer_errors_total')).toContain('consumer="broken"} 1');
  });

  it('counts refusals by reason in the metrics and the bounded log', async () => {
    const { pipeline, rejects, metrics } = setup();
    for (let i = 0; i < 150; i++) await pipeline.handle({ ...msg({}), payload: Buffer.from('not json') });
    await pipeline.handle(msg({ smoke: 'x' }));
    expect(rejects.counts().malformed_json).toBe(150);
    expect(rejects.counts().schema_violation).toBe(1);
    const page = rejects.list({ limit: 5, offset: 0 });
    expect(page.total).toBe(100); // capacity
    expect(page.items[0]?.reason).toBe('schema_violation'); // newest first
    expect(rejects.list({ reason: 'schema_violation', limit: 5, offset: 0 }).total).toBe(1);
    const text = await metrics.getSingleMetricAsString('anju_ingest_rejected_total');
    expect(text).toContain('reason="malformed_json"} 150');
    expect(text).toContain('reason="unknown_device"} 0');
  });

  it('escapes control characters in the dead-letter sample and truncates it', async () => {
    const { pipeline, rejects } = setup();
    await pipeline.handle({ ...msg({}), payload: Buffer.from(`\u0000\u001b[31m${'y'.repeat(600)}`) });
    const [r] = rejects.list({ limit: 1, offset: 0 }).items;
    expect(r?.sample.startsWith('\\x00\\x1b[31m')).toBe(true);
    expect(r?.sample.length).toBeLessThan(300);
    expect(r?.size).toBe(606);
  });
});

describe('durable consumers', () => {
  const now = Date.UTC(2026, 10, 25);
  const msg = (payload: unknown) => ({ topic: 'devices/sd-1/telemetry', payload: Buffer.from(JSON.stringify(payload)), receivedAt: now, source: 'test' });

  it('readings the durable consumer took together reach the others in one batch, in order, without the refused ones', async () => {
    const metrics = new Registry();
    const batches: Reading[][] = [];
    // A group commit: appends wait for one release, which settles them all at once.
    let release!: () => void;
    const group = new Promise<void>((r) => { release = r; });
    const pipeline = createPipeline(defaultPipelineConfig, {
      devices: { get: (id) => registry.find((d) => d.id === id) },
      consumers: [
        { name: 'spool', durable: true, accept: async (b) => { await group; if (b[0]?.seq === 3) throw new Error('spool full'); } },
        { name: 'alerts', accept: (b) => void batches.push([...b]) },
      ],
      rejects: createRejectLog({ capacity: 10 }, { metrics }), logger: pino({ level: 'silent' }), metrics,
    });
    const handled = [1, 2, 3, 4].map((seq) => pipeline.handle(msg({ smoke: 0.01, seq, ts: now - 100 + seq })));
    release();
    const outcomes = await Promise.allSettled(handled);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(batches.map((b) => b.map((r) => r.seq))).toEqual([[1, 2, 4]]);
  });

  it('messages the spool answers with one shared promise (its group commit) share its fate: all taken, or all refused and each resend taken', async () => {
    const metrics = new Registry();
    const seen: Reading[][] = [];
    // The spool's contract since group promises: every append of a group gets the same promise.
    let group: { promise: Promise<void>; ok: () => void; fail: (e: Error) => void } | undefined;
    const openGroup = () => {
      let ok!: () => void;
      let fail!: (e: Error) => void;
      const promise = new Promise<void>((res, rej) => { ok = res; fail = rej; });
      return { promise, ok, fail };
    };
    const pipeline = createPipeline(defaultPipelineConfig, {
      devices: { get: (id) => registry.find((d) => d.id === id) },
      consumers: [
        { name: 'spool', durable: true, accept: () => (group ??= openGroup()).promise },
        { name: 'alerts', accept: (b) => void seen.push([...b]) },
      ],
      rejects: createRejectLog({ capacity: 10 }, { metrics }), logger: pino({ level: 'silent' }), metrics,
    });
    const send = (seqs: number[]) => seqs.map((seq) => pipeline.handle(msg({ smoke: 0.01, seq, ts: now - 100 + seq })));
    // A refused group: every message rejects, nobody else sees them, dedupe forgets each.
    const refusedGroup = send([1, 2, 3]);
    const g1 = group!;
    group = undefined;
    g1.fail(new Error('spool write failed'));
    expect((await Promise.allSettled(refusedGroup)).map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(seen).toEqual([]);
    expect(pipeline.stats()).toMatchObject({ accepted: 0, refused: 3, duplicates: 0 });
    // Their resends and a new one, two groups: all taken, in order, none a duplicate.
    const first = send([1, 2]);
    const g2 = group!;
    group = undefined;
    const second = send([3, 4]);
    g2.ok();
    group!.ok();
    await Promise.all([...first, ...second]);
    expect(seen.flat().map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(pipeline.stats()).toMatchObject({ accepted: 4, refused: 3, duplicates: 0 });
    // A repeat of a taken one is now a duplicate.
    await Promise.all(send([2]));
    expect(pipeline.stats()).toMatchObject({ accepted: 4, duplicates: 1 });
  });

  it('refuses (rejects) a message the durable consumer could not take, and accepts its resend', async () => {
    const metrics = new Registry();
    let full = true;
    const later: Reading[] = [];
    const pipeline = createPipeline(defaultPipelineConfig, {
      devices: { get: (id) => registry.find((d) => d.id === id) },
      consumers: [
        { name: 'alerts', accept: (b) => void later.push(...b) },
        { name: 'spool', durable: true, accept: async () => { if (full) throw new Error('spool full'); } },
      ],
      rejects: createRejectLog({ capacity: 10 }, { metrics }), logger: pino({ level: 'silent' }), metrics,
    });
    await expect(pipeline.handle(msg({ smoke: 0.01, seq: 5, ts: now - 10 }))).rejects.toThrow('spool full');
    expect(later).toEqual([]); // not taken: nobody else saw it either
    full = false;
    await pipeline.handle(msg({ smoke: 0.01, seq: 5, ts: now - 10 }));
    expect(later).toHaveLength(1);
    expect(pipeline.stats()).toMatchObject({ accepted: 1, refused: 1, duplicates: 0 });
  });
});

describe('every path out of the pipeline is taken, refused or dead-lettered with a reason', () => {
  const now = Date.UTC(2026, 10, 25);
  const msg = (payload: unknown) => ({ topic: 'devices/sd-1/telemetry', payload: Buffer.from(JSON.stringify(payload)), receivedAt: now, source: 'test' });
  const make = (consumers: Parameters<typeof createPipeline>[1]['consumers'], devices: Parameters<typeof createPipeline>[1]['devices'] = { get: (id) => registry.find((d) => d.id === id) }) => {
    const metrics = new Registry();
    const rejects = createRejectLog({ capacity: 10 }, { metrics });
    return { rejects, pipeline: createPipeline(defaultPipelineConfig, { devices, consumers, rejects, logger: pino({ level: 'silent' }), metrics }) };
  };

  it('a durable consumer that throws synchronously is a refusal (the source must not acknowledge)', async () => {
    const { pipeline } = make([{ name: 'spool', durable: true, accept: () => { throw new Error('disk gone'); } }]);
    await expect(pipeline.handle(msg({ smoke: 0.01 }))).rejects.toThrow('disk gone');
    expect(pipeline.stats()).toMatchObject({ accepted: 0, refused: 1, rejected: 0 });
  });

  it('a stage that fails unexpectedly dead-letters the message as internal_error, with its device', async () => {
    const { pipeline, rejects } = make([], { get: () => { throw new Error('registry bug'); } });
    await pipeline.handle(msg({ smoke: 0.01 }));
    const [r] = rejects.list({ limit: 1, offset: 0 }).items;
    expect(r).toMatchObject({ reason: 'internal_error', device: 'sd-1', topic: 'devices/sd-1/telemetry' });
    expect(rejects.counts().schema_violation).toBe(0);
  });

  it('a repeat that arrives while its original is still on its way is acknowledged only with it — and refused if it is', async () => {
    const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
    const stored: Reading[] = [];
    const { pipeline } = make([{
      name: 'spool', durable: true,
      accept: (b) => new Promise<void>((resolve, reject) => pending.push({ resolve: () => { stored.push(...b); resolve(); }, reject })),
    }]);
    const reading = { smoke: 0.01, seq: 9, ts: now - 5 };
    // Taken: the repeat resolves after the original, as a duplicate.
    const original = pipeline.handle(msg(reading));
    let repeatDone = false;
    const repeat = pipeline.handle(msg(reading)).then(() => { repeatDone = true; });
    await Promise.resolve();
    expect(repeatDone).toBe(false);
    pending[0]?.resolve();
    await Promise.all([original, repeat]);
    expect(stored).toHaveLength(1);
    expect(pipeline.stats()).toMatchObject({ accepted: 1, duplicates: 1 });

    // Refused: the repeat is refused too (it was never stored), and the next resend is taken.
    const second = { smoke: 0.02, seq: 10, ts: now - 4 };
    const a = pipeline.handle(msg(second));
    const b = pipeline.handle(msg(second));
    pending[1]?.reject(new Error('spool full'));
    await expect(a).rejects.toThrow('spool full');
    await expect(b).rejects.toThrow('spool full');
    const c = pipeline.handle(msg(second));
    pending[2]?.resolve();
    await c;
    expect(stored.map((r) => r.seq)).toEqual([9, 10]);
  });
});
