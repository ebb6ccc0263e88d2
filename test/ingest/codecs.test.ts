import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import type { Device, KindName, Reading } from '../../core/index.js';
import {
  codecs, createPipeline, createRejectLog, createTopicMapper, defaultPipelineConfig, type CodecOptions, type RejectReason,
} from '../../ingest/index.js';
import { createTasmotaCodec } from '../../ingest/codecs/tasmota.js';
import { goldenCases } from '../helpers/fixtures.js';

const device = (id: string, kind: KindName, building = 'b1', extra: Partial<Device> = {}): Device => ({ id, kind, site: 's1', building, name: id, createdAt: 0, ...extra });
const registry = new Map([
  device('sd-1', 'smoke_detector'), device('aqara-smoke', 'smoke_detector'), device('heiman-smoke', 'smoke_detector'),
  device('pm-1', 'power_meter', 'b2'), device('plug-1', 'power_meter', 'b2'), device('tasmota_A1B2C3', 'power_meter', 'b2'),
  device('wm-1', 'water_meter'), device('leak-1', 'water_meter'), device('bin-1', 'smart_bin', 'b1', { category: 'kitchen' }),
].map((d) => [d.id, d]));

const routes = [
  { pattern: 'devices/{id}/telemetry', codec: 'json' },
  { pattern: 'senml/{id}', codec: 'senml' },
  { pattern: 'zigbee2mqtt/{id}', codec: 'zigbee2mqtt' },
  { pattern: 'tele/{id}/SENSOR', codec: 'tasmota' },
];

function setup(codecOptions: CodecOptions = {}) {
  const readings: Reading[] = [];
  const metrics = new Registry();
  const rejects = createRejectLog({ capacity: 10 }, { metrics });
  const pipeline = createPipeline(defaultPipelineConfig, {
    devices: { get: (id) => registry.get(id) }, consumers: [{ name: 'collect', accept: (b) => void readings.push(...b) }],
    rejects, logger: pino({ level: 'silent' }), metrics, topics: createTopicMapper({ routes, codecOptions }),
  });
  return { pipeline, readings, rejects };
}

type Input = { topic: string; payload: string; receivedAt: number; options?: CodecOptions };
type Expected = { reading: Reading } | { reject: RejectReason; detail: string };

describe('codecs (golden cases in test/fixtures/codecs: SenML, Zigbee2MQTT, Tasmota)', () => {
  for (const { name, input, expected } of goldenCases<Input, Expected>('codecs')) {
    it(name, async () => {
      const { pipeline, readings, rejects } = setup(input.options);
      await pipeline.handle({ topic: input.topic, payload: Buffer.from(input.payload), receivedAt: input.receivedAt, source: 'test' });
      const [reject] = rejects.list({ limit: 1, offset: 0 }).items;
      if ('reading' in expected) {
        expect(reject?.detail).toBeUndefined();
        expect(readings).toEqual([expected.reading]);
      } else {
        expect(readings).toEqual([]);
        expect(reject?.reason).toBe(expected.reject);
        expect(reject?.detail).toContain(expected.detail);
      }
    });
  }
});

describe('codecs', () => {
  const ctx = { device: 'x', kind: 'power_meter' as const, receivedAt: Date.UTC(2025, 0, 1) };

  it('places an unzoned Tasmota Time in the configured zone on both sides of a DST change', () => {
    const berlin = createTasmotaCodec({ timeZone: 'Europe/Berlin' });
    const decode = (time: string) => berlin.decode(Buffer.from(JSON.stringify({ Time: time, ENERGY: { Total: 1 } })), ctx);
    expect(decode('2025-07-01T12:00:00')).toEqual({ ok: true, value: { ts: Date.UTC(2025, 6, 1, 10), energy: 1 } }); // CEST, UTC+2
    expect(decode('2025-01-01T12:00:00')).toEqual({ ok: true, value: { ts: Date.UTC(2025, 0, 1, 11), energy: 1 } }); // CET, UTC+1
  });

  it('every registered codec refuses garbage with a reason instead of throwing', () => {
    const garbage = ['', 'null', '[]', '{}', '"x"', '[null]', '{"ENERGY":null}', '[{"n":"x","v":{}}]', '\u0000\u00ff', '{"__proto__":{"smoke":true}}'];
    for (const codec of Object.values(codecs)) {
      for (const kind of ['smoke_detector', 'smart_bin', 'water_meter', 'power_meter'] as const) {
        for (const g of garbage) {
          const r = codec.decode(Buffer.from(g), { ...ctx, kind });
          if (!r.ok) expect(r.detail.length, `${codec.name} ${g}`).toBeGreaterThan(10);
        }
      }
    }
  });
});

describe('topic mapping', () => {
  it('derives one MQTT filter per pattern and captures ids with a literal prefix', () => {
    const m = createTopicMapper({ routes: [{ pattern: 'tele/tasmota_{id}/SENSOR', codec: 'tasmota' }, { pattern: 'zigbee2mqtt/{id}', codec: 'zigbee2mqtt' }] });
    expect(m.filters).toEqual(['tele/+/SENSOR', 'zigbee2mqtt/+']);
    expect(m.match('tele/tasmota_A1B2C3/SENSOR')).toMatchObject({ device: 'A1B2C3', codec: { name: 'tasmota' } });
    expect(m.match('tele/sonoff/SENSOR')).toBeUndefined();
    expect(m.match('zigbee2mqtt/bridge/state')).toBeUndefined();
    expect(m.match('zigbee2mqtt/has space')).toBeUndefined();
  });

  it('remembers a topic\'s match (hits and misses) within its bound, and answers the same past the bound', () => {
    const routes = [{ pattern: 'devices/{id}/telemetry', codec: 'json' }];
    const cached = createTopicMapper({ routes, cacheEntries: 8 });
    const fresh = () => createTopicMapper({ routes, cacheEntries: 8 });
    const first = cached.match('devices/sd-1/telemetry');
    expect(first).toMatchObject({ device: 'sd-1', codec: { name: 'json' } });
    expect(cached.match('devices/sd-1/telemetry')).toBe(first); // remembered: the same object, not matched again
    // Many more distinct topics than the bound, valid and made up, twice over: every answer is what
    // an empty mapper gives, and a remembered miss stays a miss.
    const topics = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? `devices/bad id ${i}/telemetry` : i % 3 === 1 ? `devices/d-${i}/telemetry` : `x/d-${i}/telemetry`));
    for (let round = 0; round < 2; round += 1) {
      for (const t of topics) expect(cached.match(t), t).toEqual(fresh().match(t));
    }
    expect(cached.match('devices/bad id 0/telemetry')).toBeUndefined();
  });

  it('refuses mappings that cannot work, naming the variable', () => {
    expect(() => createTopicMapper({ routes: [{ pattern: 'a/{id}', codec: 'protobuf' }] })).toThrow(/unknown codec protobuf.*ANJU_MQTT_TOPICS/);
    expect(() => createTopicMapper({ routes: [{ pattern: 'a/+/{id}', codec: 'json' }] })).toThrow(/\+ and # are derived/);
    expect(() => createTopicMapper({ routes: [{ pattern: 'a/{id}/{id}', codec: 'json' }] })).toThrow(/exactly one \{id\}/);
    // Overlapping filters would deliver one message twice (MQTT 3.1.1 §3.3.5).
    expect(() => createTopicMapper({ routes: [{ pattern: 'a/{id}', codec: 'json' }, { pattern: '{id}/b', codec: 'json' }] })).toThrow(/overlap/);
  });
});

describe('ingest configuration (core/config)', () => {
  it('parses ANJU_MQTT_TOPICS and the hub source settings', () => {
    const c = loadConfig({ ANJU_MQTT_TOPICS: 'zigbee2mqtt/{id}=zigbee2mqtt, tele/{id}/SENSOR=tasmota', ANJU_MQTT_SHARE_GROUP: 'anju', ANJU_TASMOTA_TIMEZONE: 'Asia/Shanghai' });
    expect(c.ingest.topics).toEqual([{ pattern: 'zigbee2mqtt/{id}', codec: 'zigbee2mqtt' }, { pattern: 'tele/{id}/SENSOR', codec: 'tasmota' }]);
    expect(c.ingest).toMatchObject({ shareGroup: 'anju', clientId: 'anju-ingest:hub', codecs: { tasmota: { timeZone: 'Asia/Shanghai' }, zigbee2mqtt: { temperatureUnit: 'C' } } });
    expect(loadConfig({}).ingest.topics).toBeUndefined();
  });

  it('stops start-up on a mapping, group or zone that cannot work', () => {
    expect(() => loadConfig({ ANJU_MQTT_TOPICS: 'zigbee2mqtt/+=zigbee2mqtt' })).toThrow(/ANJU_MQTT_TOPICS.*\{id\}/s);
    expect(() => loadConfig({ ANJU_MQTT_TOPICS: 'tele/{id}/SENSOR' })).toThrow(/ANJU_MQTT_TOPICS.*pattern=codec/s);
    expect(() => loadConfig({ ANJU_MQTT_SHARE_GROUP: 'a/b' })).toThrow(/ANJU_MQTT_SHARE_GROUP/);
    expect(() => loadConfig({ ANJU_TASMOTA_TIMEZONE: 'Mars/Olympus' })).toThrow(/ANJU_TASMOTA_TIMEZONE/);
  });
});
