import type { Severity } from './alarms.js';
import type { BinCategory } from './kinds/index.js';
import type { MeterPurpose } from './registry.js';

/**
 * What people read for the registry's and the alarm model's words, in Chinese and English — one
 * table for every place that prints them: the built-in control room, the HTML/CSV reports, the
 * WeCom / DingTalk pages and the Grafana panel titles. (Alarm *types* are named by the alerts part,
 * which owns them.) A plain module: the browser bundle imports it too.
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
  'zh-CN': { household: '住户', common_lighting: '公共照明', water_pump: '水泵', elevator: '电梯', master: '总表', other: '其他' },
  en: { household: 'Household', common_lighting: 'Common lighting', water_pump: 'Water pump', elevator: 'Elevator', master: 'Master meter', other: 'Other' },
};

export const severityNames: Names<Severity> = {
  'zh-CN': { critical: '紧急', major: '重要', minor: '次要', warning: '提示' },
  en: { critical: 'Critical', major: 'Major', minor: 'Minor', warning: 'Warning' },
};

/** `{a: 'x'}` → `{'<prefix>a': 'x'}`: a names table as message-catalogue entries. */
export function prefixedNames<P extends string, K extends string>(prefix: P, names: Readonly<Record<K, string>>): { readonly [Q in K as `${P}${Q}`]: string } {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [`${prefix}${k}`, v])) as { readonly [Q in K as `${P}${Q}`]: string };
}
