import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { labelLangs, type LabelLang, type TextOptions } from '../../core/index.js';
import type { DeviceDirectory, StateStore } from '../../storage/state/contract.js';

/**
 * The reader's language and the registry's names for alarm and incident texts
 * (core/alarm-text.ts). Language: `?lang=zh-CN|en`, else the first language of Accept-Language
 * that we speak, else Chinese (the people who run these compounds read Chinese first). Names:
 * devices from the in-memory directory; buildings, sites and their time zones from the state
 * store, cached per site for a minute so a list of 500 alarms costs one lookup, not 500.
 */

export const langQuery = { lang: z.enum(labelLangs).optional().describe('language of `summary` and `evidence`; default from Accept-Language, else zh-CN') };

export function requestLang(request: FastifyRequest, given?: LabelLang): LabelLang {
  if (given) return given;
  const header = request.headers['accept-language'];
  const tags = (Array.isArray(header) ? header.join(',') : header ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = Number(params.find((p) => p.trim().startsWith('q='))?.split('=')[1] ?? 1);
      return { tag, q: Number.isFinite(q) ? q : 0 };
    })
    .filter((t) => t.tag && t.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of tags) {
    if (tag.startsWith('zh')) return 'zh-CN';
    if (tag.startsWith('en')) return 'en';
  }
  return 'zh-CN';
}

interface SiteNames { until: number; name?: string; timezone: string; buildings: Map<string, string> }

const TTL_MS = 60_000;
const MAX_SITES = 1_000;

export interface TextResolver {
  /** Text options for alarms and incidents of `sites`, in `lang`; loads the sites' names first. */
  forSites(lang: LabelLang, sites: Iterable<string>): Promise<(site: string) => TextOptions>;
}

export function createTextResolver(deps: { state: StateStore; directory: Pick<DeviceDirectory, 'get'>; now?: () => number }): TextResolver {
  const now = deps.now ?? Date.now;
  const sites = new Map<string, SiteNames>();

  async function load(site: string): Promise<SiteNames> {
    const hit = sites.get(site);
    if (hit && hit.until > now()) return hit;
    const s = await deps.state.getSite(site);
    const buildings = new Map<string, string>();
    for (let offset = 0; ; offset += 500) {
      const page = await deps.state.listBuildings(site, { limit: 500, offset });
      for (const b of page.items) buildings.set(b.id, b.name);
      if (page.items.length < 500) break;
    }
    const entry: SiteNames = { until: now() + TTL_MS, ...(s ? { name: s.name } : {}), timezone: s?.timezone ?? 'Asia/Shanghai', buildings };
    if (sites.size >= MAX_SITES) sites.clear();
    sites.set(site, entry);
    return entry;
  }

  return {
    async forSites(lang, wanted) {
      const loaded = new Map<string, SiteNames>();
      for (const site of new Set(wanted)) loaded.set(site, await load(site));
      const names = {
        device: (id: string) => {
          const d = deps.directory.get(id);
          return d ? { name: d.name, ...(d.location ? { location: d.location } : {}) } : undefined;
        },
        building: (site: string, id: string) => loaded.get(site)?.buildings.get(id),
        site: (id: string) => loaded.get(id)?.name,
      };
      return (site) => ({ lang, names, timeZone: loaded.get(site)?.timezone ?? 'Asia/Shanghai' });
    },
  };
}
