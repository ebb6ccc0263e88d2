import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import { filterWithin, parseDeviceTopic, topicMatches } from '../../core/index.js';

describe('topics', () => {
  it('parses device topics and refuses anything else', () => {
    expect(parseDeviceTopic('devices/a1/telemetry')).toEqual({ device: 'a1', channel: 'telemetry', rest: [] });
    expect(parseDeviceTopic('devices/a1/commands/reboot')?.rest).toEqual(['reboot']);
    expect(parseDeviceTopic('devices/a1/telemetry/x')).toBeUndefined();
    expect(parseDeviceTopic('devices/+/telemetry')).toBeUndefined();
    expect(parseDeviceTopic('other/a1/telemetry')).toBeUndefined();
  });

  it('matches filters per MQTT 3.1.1 §4.7', () => {
    expect(topicMatches('devices/+/telemetry', 'devices/a/telemetry')).toBe(true);
    expect(topicMatches('devices/#', 'devices/a/b/c')).toBe(true);
    // §4.7.1.2: "sport/#" also matches the parent level "sport".
    expect(topicMatches('devices/#', 'devices')).toBe(true);
    expect(topicMatches('#', '$SYS/broker')).toBe(false);
    expect(topicMatches('devices/a/telemetry', 'devices/b/telemetry')).toBe(false);
  });

  it('matches as the split-based reading of §4.7 does, over every filter and topic of a small alphabet', () => {
    const reference = (filter: string, topic: string): boolean => {
      if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
      const f = filter.split('/');
      const t = topic.split('/');
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return i === f.length - 1;
        if (i >= t.length) return false;
        if (f[i] !== '+' && f[i] !== t[i]) return false;
      }
      return f.length === t.length;
    };
    // Every string of up to 4 characters over these (empty levels, '$', wildcards mid-level included).
    const alphabet = ['a', 'b', '/', '+', '#', '$'];
    const strings = [''];
    for (let len = 1, layer = ['']; len <= 4; len++) {
      layer = layer.flatMap((s) => alphabet.map((c) => s + c));
      strings.push(...layer);
    }
    const topicsOnly = strings.filter((s) => !s.includes('+') && !s.includes('#'));
    let compared = 0;
    for (const filter of strings) {
      for (const topic of topicsOnly) {
        if (topicMatches(filter, topic) !== reference(filter, topic)) throw new Error(`differs on filter "${filter}", topic "${topic}"`);
        compared += 1;
      }
    }
    expect(compared).toBe(strings.length * topicsOnly.length);
    expect(topicMatches('devices/ab/telemetry', 'devices/a/telemetry')).toBe(false);
    expect(topicMatches('devices/+', 'devices/')).toBe(true);
  });

  it('judges whether a subscription stays within an allowed filter', () => {
    expect(filterWithin('devices/a/commands/#', 'devices/a/commands/#')).toBe(true);
    expect(filterWithin('devices/a/commands/reboot', 'devices/a/commands/#')).toBe(true);
    expect(filterWithin('devices/#', 'devices/a/commands/#')).toBe(false);
    expect(filterWithin('devices/+/commands/#', 'devices/a/commands/#')).toBe(false);
    expect(filterWithin('devices/a/telemetry', 'devices/+/telemetry')).toBe(true);
    expect(filterWithin('devices/+/telemetry', 'devices/+/telemetry')).toBe(true);
    expect(filterWithin('#', 'devices/+/telemetry')).toBe(false);
    expect(filterWithin('devices/a/commands', 'devices/a/commands/#')).toBe(true);
    expect(filterWithin('devices/a', 'devices/a/commands/#')).toBe(false);
    expect(filterWithin('$SYS/#', '#')).toBe(false);
    expect(filterWithin('$SYS/broker/clients', '$SYS/#')).toBe(true);
  });
});

describe('config', () => {
  it('has the DESIGN.md defaults', () => {
    const c = loadConfig({});
    expect(c.mqtt.port).toBe(1883);
    expect(c.mqtt.wsPort).toBe(8083);
    expect(c.http.port).toBe(8080);
    expect(c.dataDir).toBe('./data');
    expect(c.store).toBe('embedded');
    expect(c.sim).toBeUndefined();
  });

  it('reads overrides and treats empty as unset', () => {
    const c = loadConfig({ ANJU_MQTT_PORT: '0', ANJU_SIM: '0', ANJU_DATA_DIR: '', ANJU_HTTP_PORT: '9090' });
    expect(c.mqtt.port).toBe(0);
    expect(c.sim).toBe(false);
    expect(c.dataDir).toBe('./data');
    expect(c.http.port).toBe(9090);
  });

  it('stops start-up naming the bad variable', () => {
    expect(() => loadConfig({ ANJU_HTTP_PORT: 'eighty' })).toThrow(/ANJU_HTTP_PORT/);
    expect(() => loadConfig({ ANJU_STORE: 'mongodb' })).toThrow(ConfigError);
    expect(() => loadConfig({ ANJU_STORE: 'influxdb' })).toThrow(/ANJU_INFLUX_URL/);
    expect(() => loadConfig({ ANJU_ADMIN_TOKEN: 'short' })).toThrow(/16 characters/);
  });
});
