/// <reference lib="dom" />
import { en, type MessageKey, type Messages } from './en.js';
import { zhCN } from './zh-CN.js';

export type { MessageKey } from './en.js';
export const langs = ['zh-CN', 'en'] as const;
export type Lang = (typeof langs)[number];
export const langNames: Readonly<Record<Lang, string>> = { 'zh-CN': '中文', en: 'English' };

const catalogs: Readonly<Record<Lang, Messages>> = { 'zh-CN': zhCN, en };
const STORAGE_KEY = 'anju.lang';

let current: Lang = 'en';

/** A remembered choice, else zh-CN when the browser prefers Chinese, else English. */
export function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'zh-CN' || saved === 'en') return saved;
  } catch {
    // Storage disabled: fall through to the browser's preference.
  }
  const prefs = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const p of prefs) {
    const l = p.toLowerCase();
    if (l.startsWith('zh')) return 'zh-CN';
    if (l.startsWith('en')) return 'en';
  }
  return 'en';
}

export function setLang(lang: Lang, remember = true): void {
  current = lang;
  document.documentElement.lang = lang;
  document.title = t('app.title');
  if (remember) {
    try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* not remembered: fine */ }
  }
}

export function lang(): Lang {
  return current;
}

export function t(key: MessageKey, vars?: Record<string, string | number>): string {
  const text = catalogs[current][key];
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

/** A key built from data (an alarm type, a kind): the translation when there is one, else the raw value. */
export function tOr(key: string, fallback: string): string {
  const catalog = catalogs[current] as Readonly<Record<string, string>>;
  return Object.prototype.hasOwnProperty.call(catalog, key) ? (catalog[key] as string) : fallback;
}
