import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.js';
import {
  capabilityFor, commandMessageExpired, commandMessageSchema, commandParamSchemas, commandRefusal, deviceInputSchema, encodeCommandMessage,
  HUSH_MAX_SECONDS, isFinalStatus, topics, capabilityNames, commandNames, commandStatuses, labelLangs, capabilityLabels, commandLabels,
  commandStatusLabels,
} from '../../core/index.js';

const T = Date.UTC(2026, 0, 1);

describe('command vocabulary', () => {
  it('maps commands to the capability each kind needs, and says why a device cannot take one', () => {
    expect(capabilityFor('water_meter', 'close')).toBe('valve');
    expect(capabilityFor('power_meter', 'reset')).toBe('switch');
    expect(capabilityFor('smoke_detector', 'hush')).toBe('hush');
    expect(capabilityFor('smoke_detector', 'test')).toBe('self_test');
    expect(capabilityFor('water_meter', 'reset')).toBeUndefined();
    expect(capabilityFor('smart_bin', 'open')).toBeUndefined();
    expect(commandRefusal({ kind: 'water_meter', capabilities: ['valve'] }, 'close')).toBeUndefined();
    expect(commandRefusal({ kind: 'water_meter' }, 'close')).toMatch(/does not declare the "valve" capability/);
    expect(commandRefusal({ kind: 'smart_bin' }, 'open')).toMatch(/has no "open" command/);
  });

  it('bounds hush (UL 217: re-arms within 10 min) and takes no params elsewhere', () => {
    expect(commandParamSchemas.hush.parse({})).toEqual({ durationSeconds: 300 });
    expect(commandParamSchemas.hush.safeParse({ durationSeconds: HUSH_MAX_SECONDS + 1 }).success).toBe(false);
    expect(commandParamSchemas.close.safeParse({ force: true }).success).toBe(false);
  });

  it('encodes the wire message, and knows when it has expired', () => {
    const text = encodeCommandMessage({ id: 'c1', name: 'close', expiresAt: T + 1000 });
    expect(JSON.parse(text)).toEqual({ id: 'c1', name: 'close', expiresAt: '2026-01-01T00:00:01.000Z' });
    expect(commandMessageSchema.safeParse(JSON.parse(text)).success).toBe(true);
    expect(commandMessageExpired(text, T)).toBe(false);
    expect(commandMessageExpired(new TextEncoder().encode(text), T + 1000)).toBe(true);
    // Not a command message: not ours to withhold.
    expect(commandMessageExpired('not json', T)).toBe(false);
    expect(commandMessageExpired('{"id":"x"}', T)).toBe(false);
    expect(isFinalStatus('expired')).toBe(true);
    expect(isFinalStatus('delivered')).toBe(false);
    expect(topics.command('d1', 'close')).toBe('devices/d1/commands/close');
    expect(topics.replies('d1')).toBe('devices/d1/replies');
  });

  it('the registry accepts only capabilities that fit the kind', () => {
    expect(deviceInputSchema.safeParse({ id: 'a', kind: 'water_meter', site: 's', building: 'b', capabilities: ['valve'] }).success).toBe(true);
    expect(deviceInputSchema.safeParse({ id: 'a', kind: 'water_meter', site: 's', building: 'b', capabilities: ['switch'] }).success).toBe(false);
    expect(deviceInputSchema.safeParse({ id: 'a', kind: 'smoke_detector', site: 's', building: 'b', capabilities: ['laser'] }).success).toBe(false);
  });
});

describe('command labels', () => {
  it('name every capability, command and status in Chinese first, then English', () => {
    for (const lang of labelLangs) {
      for (const c of capabilityNames) expect(capabilityLabels[lang][c], `${lang} ${c}`).toBeTruthy();
      for (const c of commandNames) expect(commandLabels[lang][c], `${lang} ${c}`).toBeTruthy();
      for (const c of commandStatuses) expect(commandStatusLabels[lang][c], `${lang} ${c}`).toBeTruthy();
    }
    expect(commandLabels['zh-CN'].open).toContain('分闸');
    expect(commandStatusLabels['zh-CN'].expired).toBe('已过期');
  });
});

describe('ANJU_COMMAND_ROLE', () => {
  it('defaults to operator, takes maintenance or admin, never viewer', () => {
    expect(loadConfig({}).commands).toEqual({ minRole: 'operator' });
    expect(loadConfig({ ANJU_COMMAND_ROLE: 'maintenance' }).commands.minRole).toBe('maintenance');
    expect(() => loadConfig({ ANJU_COMMAND_ROLE: 'viewer' })).toThrow(ConfigError);
  });
});
