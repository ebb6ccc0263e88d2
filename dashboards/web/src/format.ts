import { fieldCodes } from '../../../core/kinds/codes.js';
import { stateCodeLabel } from '../../../core/labels.js';
import { lang, t, tOr } from './i18n/index.js';
import type { AlarmStatus, BinCategory, Hazard, IncidentLevel, Role, Severity } from './types.js';

/** Labels and formats shared by the views: everything the user reads goes through t(). */

/** A shape per severity, so severity never rests on colour alone (WCAG 1.4.1). */
export const severityIcon: Readonly<Record<Severity, string>> = { critical: '▲', major: '◆', minor: '●', warning: '■' };

export const severityLabel = (s: Severity): string => t(`sev.${s}`);
export const statusLabel = (s: AlarmStatus): string => t(`status.${s}`);
export const roleLabel = (r: Role): string => t(`role.${r}`);
export const typeLabel = (type: string): string => tOr(`type.${type}`, type);
export const hazardLabel = (h: Hazard): string => t(`hazard.${h}`);
export const levelLabel = (l: IncidentLevel): string => t(`level.${l}`);
export const kindLabel = (kind: string): string => tOr(`kind.${kind}`, kind);
export const fieldLabel = (field: string): string => tOr(`field.${field}`, field);
export const categoryLabel = (c: BinCategory | null | undefined): string => (c ? t(`cat.${c}`) : t('cat.none'));

/** Units of the reading fields (DESIGN §3). */
export const fieldUnits: Readonly<Record<string, string>> = {
  smoke: 'dB/m', temperature: '°C', co: 'ppm', fill: '%', weight: 'kg', volume: 'm³', flow: 'L/min',
  energy: 'kWh', power: 'W', voltage: 'V', current: 'A', residual_current: 'mA', cable_temperature: '°C', humidity: '%RH', battery: '%',
};

export function formatNumber(n: number, digits = 1): string {
  return new Intl.NumberFormat(lang(), { maximumFractionDigits: digits }).format(n);
}

export function formatTime(iso: string | number, timeZone?: string, withDate = true): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(lang(), {
    ...(withDate ? { month: '2-digit', day: '2-digit' } : {}),
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
    ...(timeZone ? { timeZone } : {}),
  }).format(d);
}

/** `YYYY-MM-DD` of an instant in a zone. */
export function localDate(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

/** `YYYY-MM-DD` plus whole days (calendar arithmetic in UTC, so no DST surprises). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Whether `kind`'s `field` is a state code (a valve's, a breaker's): shown by its label, never charted as a line. */
export const isStateField = (kind: string, field: string): boolean => fieldCodes(kind, field) !== undefined;

/** A reading's value for people: a state code by its label (`关闭`, not 1), a number with its unit. */
export function fieldValue(v: number | boolean | null | undefined, field: string, kind?: string): string {
  if (v === null || v === undefined) return t('common.none');
  if (typeof v === 'boolean') return v ? t('common.yes') : t('common.no');
  const state = kind !== undefined ? stateCodeLabel(kind, field, v, lang()) : undefined;
  if (state !== undefined) return state;
  const unit = fieldUnits[field];
  return unit ? `${formatNumber(v, 2)} ${unit}` : formatNumber(v, 2);
}
