import { describe, expect, it } from 'vitest';
import { alarmEvidence, alarmSummary, alarmTypeNames, alarmTypes, incidentSummary, ruleName, type AlarmLike, type TextOptions } from '../../core/index.js';
import { builtinRules } from '../../alerts/rules/index.js';

/** Alarm and incident texts: Chinese first, English second, devices by name and location, values with units. */

const names: TextOptions['names'] = {
  device: (id) => (id === 'sd-1' ? { name: '3-301 厨房烟感', location: '301 kitchen' } : undefined),
  building: (_site, id) => (id === 'b3' ? '3号楼' : undefined),
};
const zh: TextOptions = { lang: 'zh-CN', names, timeZone: 'Asia/Shanghai' };
const en: TextOptions = { lang: 'en', names, timeZone: 'Asia/Shanghai' };
const heatRise: AlarmLike = {
  type: 'heat_rise', severity: 'critical', originator: { kind: 'device', id: 'sd-1' }, site: 'chundu', building: 'b3',
  details: { temperature: 62, ratePerMin: 9.1, sinceTs: Date.UTC(2025, 2, 3, 0, 12) },
};

describe('alarm texts', () => {
  it('names every alarm type the rules raise, and every rule, in both languages', () => {
    for (const rule of Object.values(builtinRules)) for (const t of rule.alarmTypes) expect(alarmTypes).toContain(t);
    for (const t of alarmTypes) {
      expect(alarmTypeNames['zh-CN'][t]).toMatch(/[\u4e00-\u9fff]/);
      expect(alarmTypeNames.en[t]).toMatch(/^[A-Z]/);
    }
    for (const name of Object.keys(builtinRules)) expect(ruleName(name, 'zh-CN')).toMatch(/[\u4e00-\u9fff]/);
    expect(ruleName('bin_position', 'en')).toBe('Bin position and lid');
  });

  it('writes evidence with units and local times, and the summary with the place and device', () => {
    expect(alarmEvidence(heatRise, zh)).toEqual(['温度 62.0 °C', '升温速率 9.1 °C/min', '开始于 03-03 08:12']);
    expect(alarmEvidence(heatRise, en)).toEqual(['Temperature 62.0 °C', 'Rate of rise 9.1 °C/min', 'Since 03-03 08:12']);
    expect(alarmSummary(heatRise, zh)).toBe('3号楼 3-301 厨房烟感（301 kitchen）：温升过快（差温），温度 62.0 °C，升温速率 9.1 °C/min');
    expect(alarmSummary(heatRise, en)).toBe('3号楼 3-301 厨房烟感 (301 kitchen): Heat (rate of rise), Temperature 62.0 °C, Rate of rise 9.1 °C/min');
    // Unknown keys and flags that are off say nothing; an unknown device shows its id.
    const smoke: AlarmLike = { ...heatRise, type: 'smoke', originator: { kind: 'device', id: 'sd-9' }, details: { smoke: 0.35, deviceAlarm: false, threshold: 0.2, whatever: 1 } };
    expect(alarmSummary(smoke, zh)).toBe('3号楼 sd-9：烟雾报警，烟雾浓度 0.35 dB/m，阈值 0.20 dB/m');
  });

  it('summarises an incident by level, place and devices', () => {
    const incident = {
      hazard: 'fire' as const, level: 'fire' as const, severity: 'critical' as const, site: 'chundu', building: 'b3',
      members: [{ ...heatRise, status: 'active_unack' as const }, { ...heatRise, type: 'fire_risk', originator: { kind: 'building' as const, id: 'b3' }, status: 'active_unack' as const, details: {} }],
    };
    expect(incidentSummary(incident, zh)).toBe('火警 · 3号楼 火灾：1 个设备（3-301 厨房烟感（301 kitchen）），2 条告警中 2 条未消除，紧急');
    expect(incidentSummary(incident, en)).toBe('Fire alarm · 3号楼 Fire: 1 device (3-301 厨房烟感 (301 kitchen)), 2 of 2 alarms active, Critical');
  });
});
