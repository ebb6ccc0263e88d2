import type { AlarmStatus, Hazard, IncidentLevel, Severity } from './alarms.js';
import { alarmTypeNames, hazardNames, incidentLevelNames, ruleOnlyNames, severityNames, type LabelLang } from './labels.js';

/**
 * Alarms and incidents in words, in the reader's language: a one-line summary (what, where, how
 * much) and the evidence, one line per value with its unit and the devices by name and location
 * ("温度 62.0 °C", "升温速率 9.1 °C/min", "3-301 厨房烟感（301 kitchen）"). Rules store numbers
 * and ids in an alarm's `details`; the words are made here, when someone reads them, so the
 * control room, the API (`lang`), the WeCom / DingTalk pages and the CSV export say the same
 * thing in Chinese or English. A plain module: the browser bundle imports it too.
 */

export interface TextNames {
  device?(id: string): { readonly name?: string; readonly location?: string } | undefined;
  building?(site: string, id: string): string | undefined;
  site?(id: string): string | undefined;
}

export interface TextOptions {
  readonly lang: LabelLang;
  readonly names?: TextNames;
  /** For times in the evidence (`sinceTs` …); default Asia/Shanghai, the platform's default site zone. */
  readonly timeZone?: string;
}

/** What the text needs of an alarm (the stored model and its JSON both fit). */
export interface AlarmLike {
  readonly type: string;
  readonly severity: Severity;
  readonly originator: { readonly kind: 'device' | 'building'; readonly id: string };
  readonly site: string;
  readonly building: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface IncidentLike {
  readonly hazard: Hazard;
  readonly level: IncidentLevel;
  readonly severity: Severity;
  readonly site: string;
  readonly building: string;
  readonly members: readonly (AlarmLike & { readonly status: AlarmStatus })[];
}

const has = <K extends string>(table: Readonly<Record<K, string>>, key: string): key is K => Object.prototype.hasOwnProperty.call(table, key);

export function alarmTypeName(type: string, lang: LabelLang): string {
  const types = alarmTypeNames[lang];
  return has(types, type) ? types[type] : type;
}

/** A rule's name as people read it (rules are named after the first alarm type they raise). */
export function ruleName(rule: string, lang: LabelLang): string {
  const only = ruleOnlyNames[lang];
  return has(only, rule) ? only[rule] : alarmTypeName(rule, lang);
}

type Kind = 'number' | 'time' | 'duration' | 'bool' | 'reason' | 'devices' | 'signals' | 'text';
interface DetailSpec { readonly zh: string; readonly en: string; readonly unit?: string; readonly digits?: number; readonly kind?: Kind }

/** Units of the main quantity per alarm type, for the `threshold` detail. */
const thresholdUnit: Readonly<Record<string, [string, number]>> = {
  smoke: ['dB/m', 2], heat: ['°C', 0], heat_rise: ['°C/min', 1], residual_current: ['mA', 0], cable_temperature: ['°C', 0],
  bin_fire: ['°C', 0], bin_fill: ['%', 0], battery: ['%', 0],
};

/** Detail keys the built-in rules use, in the order evidence lists them. */
const detailSpecs: Readonly<Record<string, DetailSpec>> = {
  deviceAlarm: { zh: '探测器自身报警', en: 'Device in alarm', kind: 'bool' },
  pressed: { zh: '按钮已按下', en: 'Call point pressed', kind: 'bool' },
  smoke: { zh: '烟雾浓度', en: 'Smoke', unit: 'dB/m', digits: 2 },
  temperature: { zh: '温度', en: 'Temperature', unit: '°C', digits: 1 },
  ratePerMin: { zh: '升温速率', en: 'Rate of rise', unit: '°C/min', digits: 1 },
  co: { zh: '一氧化碳', en: 'CO', unit: 'ppm', digits: 0 },
  dosePct: { zh: '一氧化碳累计剂量', en: 'CO dose', unit: '%', digits: 0 },
  residual_current: { zh: '剩余电流', en: 'Residual current', unit: 'mA', digits: 0 },
  current: { zh: '电流', en: 'Current', unit: 'A', digits: 1 },
  rated_current: { zh: '额定电流', en: 'Rated current', unit: 'A', digits: 0 },
  rmsA: { zh: '30 分钟方均根电流', en: '30-min RMS current', unit: 'A', digits: 1 },
  cable_temperature: { zh: '线缆温度', en: 'Cable temperature', unit: '°C', digits: 1 },
  fill: { zh: '满溢度', en: 'Fill', unit: '%', digits: 0 },
  ratePctPerHour: { zh: '满溢速率', en: 'Fill rate', unit: '%/h', digits: 1 },
  predictedFullTs: { zh: '预计满溢时间', en: 'Predicted full at', kind: 'time' },
  tilt: { zh: '倾倒', en: 'Knocked over', kind: 'bool' },
  lid_open: { zh: '桶盖打开', en: 'Lid open', kind: 'bool' },
  flow: { zh: '瞬时流量', en: 'Flow', unit: 'L/min', digits: 1 },
  meanFlowLpm: { zh: '平均流量', en: 'Mean flow', unit: 'L/min', digits: 1 },
  limitLpm: { zh: '流量限值', en: 'Flow limit', unit: 'L/min', digits: 1 },
  q3Pct: { zh: '限值占 Q3', en: 'Limit as share of Q3', unit: '%', digits: 0 },
  q3: { zh: '常用流量 Q3', en: 'Permanent flow Q3', unit: 'm³/h', digits: 1 },
  minFlowLph: { zh: '最低小时流量', en: 'Lowest hourly flow', unit: 'L/h', digits: 1 },
  quietLph: { zh: '静止判定限值', en: 'Quiet below', unit: 'L/h', digits: 1 },
  method: { zh: '判定方法', en: 'Method', kind: 'reason' },
  masterM3: { zh: '总表用水', en: 'Master meter', unit: 'm³', digits: 3 },
  householdsM3: { zh: '户表合计', en: 'Household meters', unit: 'm³', digits: 3 },
  lossPct: { zh: '漏损率', en: 'Loss', unit: '%', digits: 1 },
  households: { zh: '户表数', en: 'Household meters', digits: 0 },
  aboveS: { zh: '窗口内超限累计', en: 'Time above within the window', kind: 'duration' },
  battery: { zh: '电量', en: 'Battery', unit: '%', digits: 0 },
  reason: { zh: '原因', en: 'Reason', kind: 'reason' },
  connection: { zh: '连接方式', en: 'Connection', kind: 'reason' },
  limitS: { zh: '静默上限', en: 'Silence limit', kind: 'duration' },
  lastSeenTs: { zh: '最后上报', en: 'Last heard', kind: 'time' },
  sinceTs: { zh: '开始于', en: 'Since', kind: 'time' },
  lastQuietHourTs: { zh: '最近静止时段', en: 'Last quiet hour', kind: 'time' },
  fromTs: { zh: '起', en: 'From', kind: 'time' },
  toTs: { zh: '止', en: 'To', kind: 'time' },
  signals: { zh: '独立报警信号', en: 'Independent alarm signals', kind: 'signals' },
  devices: { zh: '设备', en: 'Devices', kind: 'devices' },
  emptied: { zh: '已清运', en: 'Emptied', kind: 'bool' },
};

/** Words for the enumerated detail values (offline reasons, connection modes, leak methods, fire criteria). */
const reasonNames: Readonly<Record<LabelLang, Readonly<Record<string, string>>>> = {
  'zh-CN': {
    lost: '连接异常断开（遗嘱消息）', keepalive: '心跳超时', silent: '超过上报周期未上报', message: '已恢复上报', online: '已重新连接',
    persistent: '长连接', periodic: '定时上报（上报后断开）', no_quiet_hour: '24 小时内没有连续 1 小时无用水（Kamstrup LEAK）',
    minimum_flow: '上报间隔超过 1 小时：按全天最低流量判定（最小夜间流量法）',
    smoke: '烟雾', heat: '温度', co: '一氧化碳', manual: '手动报警按钮', test: '测试',
  },
  en: {
    lost: 'connection lost without DISCONNECT (its Will)', keepalive: 'keep-alive timeout', silent: 'missed its reports', message: 'reporting again', online: 'reconnected',
    persistent: 'persistent connection', periodic: 'periodic (connects to report)', no_quiet_hour: 'no continuous quiet hour in 24 h (Kamstrup LEAK)',
    minimum_flow: 'reports more than 1 h apart: judged by the lowest flow of the day (minimum night flow)',
    smoke: 'smoke', heat: 'heat', co: 'CO', manual: 'manual call point', test: 'test',
  },
};

const yesNo: Readonly<Record<LabelLang, [string, string]>> = { 'zh-CN': ['是', '否'], en: ['yes', 'no'] };
const sep: Readonly<Record<LabelLang, { list: string; clause: string; colon: string }>> = {
  'zh-CN': { list: '、', clause: '，', colon: '：' },
  en: { list: ', ', clause: ', ', colon: ': ' },
};

function formatTime(ms: number, timeZone: string): string {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  return `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function formatDuration(s: number, lang: LabelLang): string {
  if (s < 120) return lang === 'en' ? `${Math.round(s)} s` : `${Math.round(s)} 秒`;
  if (s < 7200) return lang === 'en' ? `${Math.round(s / 60)} min` : `${Math.round(s / 60)} 分钟`;
  const h = Math.round((s / 3600) * 10) / 10;
  return lang === 'en' ? `${h} h` : `${h} 小时`;
}

/** A device by name, with its location when it has one: `3-301 厨房烟感（301 kitchen）`. */
export function deviceLabel(id: string, opts: TextOptions): string {
  const d = opts.names?.device?.(id);
  const name = d?.name ?? id;
  if (!d?.location) return name;
  return opts.lang === 'en' ? `${name} (${d.location})` : `${name}（${d.location}）`;
}

export function buildingLabel(site: string, id: string, opts: TextOptions): string {
  return opts.names?.building?.(site, id) ?? id;
}

function reasonName(v: string, lang: LabelLang): string {
  return reasonNames[lang][v] ?? v;
}

function detailValue(type: string, key: string, v: unknown, opts: TextOptions): string | undefined {
  const { lang } = opts;
  const spec = detailSpecs[key];
  if (key === 'threshold' && typeof v === 'number') {
    const [unit, digits] = thresholdUnit[type] ?? ['', 1];
    return `${v.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
  }
  if (!spec) return undefined;
  switch (spec.kind ?? 'number') {
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(spec.digits ?? 1)}${spec.unit ? ` ${spec.unit}` : ''}` : undefined;
    case 'time':
      return typeof v === 'number' ? formatTime(v, opts.timeZone ?? 'Asia/Shanghai') : undefined;
    case 'duration':
      return typeof v === 'number' ? formatDuration(v, lang) : undefined;
    case 'bool':
      return typeof v === 'boolean' ? yesNo[lang][v ? 0 : 1] : undefined;
    case 'reason':
      return typeof v === 'string' ? reasonName(v, lang) : undefined;
    case 'devices':
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string').map((id) => deviceLabel(id, opts)).join(sep[lang].list) : undefined;
    case 'signals': {
      if (!Array.isArray(v)) return undefined;
      // Per device, what it sensed: `3-301 厨房烟感（301 kitchen） 温度+烟雾；3-301 客厅烟感 烟雾`.
      const byDevice = new Map<string, string[]>();
      for (const x of v) {
        if (typeof x !== 'object' || x === null) continue;
        const { device, criterion } = x as { device?: unknown; criterion?: unknown };
        if (typeof device !== 'string' || typeof criterion !== 'string') continue;
        byDevice.set(device, [...(byDevice.get(device) ?? []), reasonName(criterion, lang)]);
      }
      return [...byDevice].map(([d, c]) => `${deviceLabel(d, opts)} ${c.join('+')}`).join(lang === 'en' ? '; ' : '；');
    }
    default:
      return typeof v === 'string' ? v : undefined;
  }
}

/**
 * The evidence of an alarm: its details as `label value unit` lines, in a fixed order (the
 * measured values first, then limits and times). Unknown keys are left out, not shown raw.
 */
export function alarmEvidence(a: Pick<AlarmLike, 'type' | 'details'>, opts: TextOptions): string[] {
  const out: string[] = [];
  const label = (key: string) => (key === 'threshold' ? (opts.lang === 'en' ? 'Threshold' : '阈值') : (opts.lang === 'en' ? detailSpecs[key]?.en : detailSpecs[key]?.zh) ?? key);
  // The devices of a signal list are in it already.
  const keys = [...Object.keys(detailSpecs), 'threshold']
    .filter((k) => a.details[k] !== undefined && a.details[k] !== null && !(k === 'devices' && a.details.signals !== undefined));
  for (const key of keys) {
    const v = detailValue(a.type, key, a.details[key], opts);
    if (v === undefined || v === '') continue;
    // A flag that is off says nothing worth a line ("探测器自身报警：否").
    if (detailSpecs[key]?.kind === 'bool' && a.details[key] === false) continue;
    out.push(detailSpecs[key]?.kind === 'bool' ? label(key) : `${label(key)} ${v}`);
  }
  return out;
}

/** Where an alarm is: the building, then the device by name and location (a building alarm: the building). */
export function alarmPlace(a: AlarmLike, opts: TextOptions): string {
  const building = buildingLabel(a.site, a.building, opts);
  return a.originator.kind === 'device' ? `${building} ${deviceLabel(a.originator.id, opts)}` : building;
}

/** `3号楼 3-301 厨房烟感（301 kitchen）：烟雾报警，烟雾浓度 0.35 dB/m，温度 31.5 °C` */
export function alarmSummary(a: AlarmLike, opts: TextOptions): string {
  const s = sep[opts.lang];
  const evidence = alarmEvidence(a, opts).slice(0, 2);
  return `${alarmPlace(a, opts)}${s.colon}${alarmTypeName(a.type, opts.lang)}${evidence.length ? `${s.clause}${evidence.join(s.clause)}` : ''}`;
}

/** The incident's name: `火警 · 3号楼 火灾` / `Fire alarm · Building 3 fire`. */
export function incidentTitle(i: Pick<IncidentLike, 'hazard' | 'level' | 'site' | 'building'>, opts: TextOptions): string {
  return `${incidentLevelNames[opts.lang][i.level]} · ${buildingLabel(i.site, i.building, opts)} ${hazardNames[opts.lang][i.hazard]}`;
}

/**
 * One line for an incident: level, place, and which devices say so — `火警 · 3号楼 火灾：3 个设备报警
 * （3-301 厨房烟感、3-302 厨房烟感、…），紧急`.
 */
export function incidentSummary(i: IncidentLike, opts: TextOptions): string {
  const { lang } = opts;
  const s = sep[lang];
  const devices = [...new Set(i.members.map((m) => (m.originator.kind === 'device' ? m.originator.id : '')).filter(Boolean))];
  const shown = devices.slice(0, 3).map((id) => deviceLabel(id, opts)).join(s.list) + (devices.length > 3 ? `${s.list}…` : '');
  const active = i.members.filter((m) => m.status === 'active_unack' || m.status === 'active_ack').length;
  const what = lang === 'en'
    ? `${devices.length} device${devices.length === 1 ? '' : 's'} (${shown}), ${active} of ${i.members.length} alarms active`
    : `${devices.length} 个设备（${shown}），${i.members.length} 条告警中 ${active} 条未消除`;
  return `${incidentTitle(i, opts)}${s.colon}${devices.length ? what : `${i.members.length}${lang === 'en' ? ' alarms' : ' 条告警'}`}${s.clause}${severityNames[lang][i.severity]}`;
}

/** One line per member alarm: `烟雾报警 · 3-301 厨房烟感（301 kitchen）：烟雾浓度 0.35 dB/m，温度 31.5 °C`. */
export function incidentEvidence(i: IncidentLike, opts: TextOptions): string[] {
  const s = sep[opts.lang];
  return i.members.map((m) => {
    const who = m.originator.kind === 'device' ? deviceLabel(m.originator.id, opts) : buildingLabel(m.site, m.building, opts);
    const ev = alarmEvidence(m, opts).slice(0, 3);
    return `${alarmTypeName(m.type, opts.lang)} · ${who}${ev.length ? `${s.colon}${ev.join(s.clause)}` : ''}`;
  });
}

