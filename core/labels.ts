import type { AlarmStatus, AlarmType, Hazard, IncidentLevel, Severity } from './alarms.js';
import type { Capability, CommandName, CommandStatus } from './commands.js';
import { fieldCodes, stateOfCode, type SwitchState, type ValveState } from './kinds/codes.js';
import type { BinCategory } from './kinds/index.js';
import type { MeterPurpose } from './registry.js';

/**
 * What people read for the registry's and the alarm model's words, in Chinese and English — one
 * table for every place that prints them: the built-in control room, the HTML/CSV reports, the
 * WeCom / DingTalk pages and the Grafana panel titles; alarm texts are built from them in
 * core/alarm-text.ts. A plain module: the browser bundle imports it too.
 */

export const labelLangs = ['zh-CN', 'en'] as const;
export type LabelLang = (typeof labelLangs)[number];

type Names<K extends string> = Readonly<Record<LabelLang, Readonly<Record<K, string>>>>;

/** GB/T 19095-2019 household waste sorting names (可回收物, 有害垃圾, 厨余垃圾, 其他垃圾). */
export const binCategoryNames: Names<BinCategory> = {
  'zh-CN': { recyclable: '可回收物', kitchen: '厨余垃圾', hazardous: '有害垃圾', residual: '其他垃圾' },
  en: { recyclable: 'Recyclable', kitchen: 'Kitchen waste', hazardous: 'Hazardous', residual: 'Residual' },
};

export const meterPurposeNames: Names<MeterPurpose> = {
  'zh-CN': {
    household: '住户', common_lighting: '公共照明', water_pump: '水泵', elevator: '电梯', master: '总表', other: '其他',
    fire_pump: '消防水泵', smoke_extraction: '防排烟风机', emergency_lighting: '应急照明',
  },
  en: {
    household: 'Household', common_lighting: 'Common lighting', water_pump: 'Water pump', elevator: 'Elevator', master: 'Master meter', other: 'Other',
    fire_pump: 'Fire pump', smoke_extraction: 'Smoke extraction', emergency_lighting: 'Emergency lighting',
  },
};

export const severityNames: Names<Severity> = {
  'zh-CN': { critical: '紧急', major: '重要', minor: '次要', warning: '提示' },
  en: { critical: 'Critical', major: 'Major', minor: 'Minor', warning: 'Warning' },
};

export const alarmStatusNames: Names<AlarmStatus> = {
  'zh-CN': { active_unack: '未确认', active_ack: '已确认', cleared_unack: '已消除（未确认）', cleared_ack: '已消除' },
  en: { active_unack: 'Unacknowledged', active_ack: 'Acknowledged', cleared_unack: 'Cleared (unacknowledged)', cleared_ack: 'Cleared' },
};

/** Alarm types, which are also the rules' names (a rule raising several types is named by its first). */
export const alarmTypeNames: Names<AlarmType> = {
  'zh-CN': {
    smoke: '烟雾报警', heat: '温度过高（定温）', heat_rise: '温升过快（差温）', co: '一氧化碳超标', manual_call: '手动报警按钮',
    fire_risk: '火警确认（两个独立信号）', residual_current: '剩余电流超限（漏电）', overcurrent: '线路过载', cable_temperature: '线缆温度过高',
    bin_fill: '垃圾桶满溢', bin_time_to_full: '垃圾桶即将满溢', bin_fire: '垃圾桶起火', bin_tilt: '垃圾桶倾倒', bin_lid_open: '垃圾桶盖未关',
    water_leak: '疑似漏水', water_burst: '疑似爆管', water_balance: '管网疑似暗漏', offline: '设备离线', battery: '电池电量低',
  },
  en: {
    smoke: 'Smoke', heat: 'Heat (fixed temperature)', heat_rise: 'Heat (rate of rise)', co: 'Carbon monoxide', manual_call: 'Manual call point',
    fire_risk: 'Fire confirmed (two independent signals)', residual_current: 'Residual current (earth leakage)', overcurrent: 'Overcurrent', cable_temperature: 'Cable overheating',
    bin_fill: 'Bin full', bin_time_to_full: 'Bin nearly full', bin_fire: 'Bin fire', bin_tilt: 'Bin knocked over', bin_lid_open: 'Bin lid left open',
    water_leak: 'Suspected leak', water_burst: 'Suspected burst', water_balance: 'Network imbalance (hidden leak)', offline: 'Device offline', battery: 'Low battery',
  },
};

/** Rules whose name is not one of the alarm types they raise. */
export const ruleOnlyNames: Names<'bin_position'> = {
  'zh-CN': { bin_position: '垃圾桶倾倒与桶盖' },
  en: { bin_position: 'Bin position and lid' },
};

export const hazardNames: Names<Hazard> = {
  'zh-CN': { fire: '火灾', electrical: '电气火灾隐患', water: '漏水', waste: '垃圾清运', device: '设备状态' },
  en: { fire: 'Fire', electrical: 'Electrical hazard', water: 'Water', waste: 'Waste', device: 'Device health' },
};

export const incidentLevelNames: Names<IncidentLevel> = {
  'zh-CN': { pre_alarm: '预警', alarm: '告警', fire: '火警' },
  en: { pre_alarm: 'Pre-alarm', alarm: 'Alarm', fire: 'Fire alarm' },
};

/** `{a: 'x'}` → `{'<prefix>a': 'x'}`: a names table as message-catalogue entries. */
export function prefixedNames<P extends string, K extends string>(prefix: P, names: Readonly<Record<K, string>>): { readonly [Q in K as `${P}${Q}`]: string } {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [`${prefix}${k}`, v])) as { readonly [Q in K as `${P}${Q}`]: string };
}

/** Commands to devices (core/commands.ts): what the control room and messages call them. */
export const capabilityLabels: Names<Capability> = {
  'zh-CN': { valve: '阀门', switch: '断路器', hush: '消音', self_test: '远程自检' },
  en: { valve: 'Valve', switch: 'Breaker', hush: 'Hush', self_test: 'Remote test' },
};

/** Per kind the words differ (a valve closes, a breaker opens to cut power): `open`/`close` are named for both. */
export const commandLabels: Names<CommandName> = {
  'zh-CN': { open: '打开阀门 / 分闸', close: '关闭阀门 / 合闸', reset: '复位', hush: '消音', test: '自检' },
  en: { open: 'Open valve / open breaker', close: 'Close valve / close breaker', reset: 'Reset', hush: 'Hush', test: 'Test' },
};

export const commandStatusLabels: Names<CommandStatus> = {
  'zh-CN': { queued: '排队', sent: '已下发', delivered: '已送达', succeeded: '执行成功', failed: '执行失败', expired: '已过期' },
  en: { queued: 'Queued', sent: 'Sent', delivered: 'Delivered', succeeded: 'Succeeded', failed: 'Failed', expired: 'Expired' },
};

/** `valve` of a valve-controlled water meter (core/kinds/codes.ts): what its state codes mean. */
export const valveStateNames: Names<ValveState> = {
  'zh-CN': { open: '开启', closed: '关闭', moving: '动作中', fault: '故障' },
  en: { open: 'Open', closed: 'Closed', moving: 'Moving', fault: 'Fault' },
};

/** `switch` of a power meter's breaker: 合闸 closed circuit (on), 分闸 opened (off), 跳闸 opened by its protection. */
export const switchStateNames: Names<SwitchState> = {
  'zh-CN': { on: '合闸', off: '分闸', tripped: '跳闸' },
  en: { on: 'On (closed)', off: 'Off (open)', tripped: 'Tripped' },
};

/** The names of every coded field's states, by kind and field (core/kinds/codes.ts `codedFields`). */
export const stateCodeNames: Readonly<Record<string, Readonly<Record<string, Names<string>>>>> = {
  water_meter: { valve: valveStateNames },
  power_meter: { switch: switchStateNames },
};

/**
 * What a state code of a reading says, in `lang` (`关闭` for a water meter's `valve` 1), or undefined
 * when `field` is not a coded field of `kind` or `value` is none of its codes (an average, say).
 */
export function stateCodeLabel(kind: string, field: string, value: unknown, lang: LabelLang): string | undefined {
  const codes = fieldCodes(kind, field);
  if (!codes || typeof value !== 'number') return undefined;
  const state = stateOfCode(codes, value);
  const names = Object.hasOwn(stateCodeNames, kind) ? stateCodeNames[kind]?.[field]?.[lang] : undefined;
  return state !== undefined && names && Object.hasOwn(names, state) ? names[state] : undefined;
}
