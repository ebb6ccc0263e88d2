import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEngine } from '../../alerts/index.js';
import { feed, startAlertsHarness, T0, type Harness } from './harness.js';

/**
 * `GET|PUT /api/rules/sites/{site}` on the real DuckDB store and a real engine: what is in force per
 * rule and kind, a site's overrides replaced without touching the rest of the configuration,
 * refusals with the path to fix (including what only the merged parameters show), admin only, and
 * the new threshold applied to the next reading of that site and no other.
 */
interface SiteRules {
  site: string;
  overrides: Record<string, Record<string, unknown>>;
  rules: Array<{ rule: string; name: string; kind: string; inherited: Record<string, unknown>; effective: Record<string, unknown> }>;
}

describe('api site rule parameters', () => {
  const now = { ms: T0 };
  let h: Harness;
  let engine: AlertEngine;

  beforeAll(async () => {
    ({ h, engine } = await startAlertsHarness(now));
    await h.deps.directory.create({ id: 'sd-a', kind: 'smoke_detector', site: 'chundu', building: 'b1' });
    await h.deps.directory.create({ id: 'sd-b', kind: 'smoke_detector', site: 'xinyuan', building: 'b1' });
  });
  afterAll(async () => { await h.close(); });

  const get = (site: string, role: 'viewer' | 'admin' = 'viewer', lang = 'zh-CN') => h.call(role, { method: 'GET', url: `/api/rules/sites/${site}?lang=${lang}` });
  const put = (site: string, payload: object, role: 'operator' | 'admin' = 'admin') => h.call(role, { method: 'PUT', url: `/api/rules/sites/${site}`, payload });
  const entry = (body: SiteRules, rule: string, kind: string) => body.rules.find((r) => r.rule === rule && r.kind === kind);

  it('answers the parameters in force per rule and kind, with names in the reader\'s language', async () => {
    await h.call('admin', { method: 'PUT', url: '/api/rules', payload: { all: { smoke: { verifyS: 20 } }, kinds: { smoke_detector: { battery: { lowAt: 30, clearAt: 35 } } } } });
    const res = await get('chundu');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as SiteRules;
    expect(body.overrides).toEqual({});
    expect(entry(body, 'smoke', 'smoke_detector')).toMatchObject({ name: expect.stringMatching(/[\u4e00-\u9fff]/), effective: { threshold: 0.2, clearBelow: 0.1, verifyS: 20 } });
    // Per-kind defaults and per-kind overrides: battery differs between kinds.
    expect(entry(body, 'battery', 'smoke_detector')?.effective).toMatchObject({ lowAt: 30, veryLowSeverity: 'major' });
    expect(entry(body, 'battery', 'smart_bin')?.effective).toMatchObject({ lowAt: 20, veryLowSeverity: 'warning' });
    expect(((await get('chundu', 'viewer', 'en')).json() as SiteRules).rules[0]?.name).toMatch(/^[\x20-\x7e]+$/);
    expect((await get('nosuch')).statusCode).toBe(404);
    expect((await get('nosuch')).json().error.code).toBe('not_found');
  });

  it('PUT is admin only and refuses mistakes with the path to fix, keeping what was there', async () => {
    expect((await put('chundu', { smoke: { threshold: 0.3 } }, 'operator')).statusCode).toBe(403);
    for (const [body, path] of [
      [{ smoke: { threshold: -1 } }, 'smoke.threshold'],
      [{ smoke: { colour: 1 } }, 'smoke'],
      // Each value is fine on its own; merged with the default threshold 0.2 the clear level is above it.
      [{ smoke: { clearBelow: 0.5 } }, 'smoke'],
    ] as const) {
      const res = await put('chundu', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code).toBe('validation_failed');
      expect(res.json().error.details[0].path, JSON.stringify(body)).toContain(path);
    }
    expect((await put('chundu', { nosuch: {} })).statusCode).toBe(400);
    expect((await put('nosuch', { smoke: { threshold: 0.3 } })).statusCode).toBe(404);
    expect(((await get('chundu')).json() as SiteRules).overrides).toEqual({});
  });

  it('replaces one site\'s overrides, keeps the rest, and applies them to the next reading of that site only', async () => {
    const res = await put('chundu', { smoke: { threshold: 0.3, clearBelow: 0.15 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(entry(res.json() as SiteRules, 'smoke', 'smoke_detector')).toMatchObject({ inherited: { threshold: 0.2 }, effective: { threshold: 0.3, clearBelow: 0.15, verifyS: 20 } });
    const whole = (await h.call('viewer', { method: 'GET', url: '/api/rules' })).json();
    expect(whole).toMatchObject({
      all: { smoke: { verifyS: 20 } }, kinds: { smoke_detector: { battery: { lowAt: 30 } } },
      sites: { chundu: { smoke: { threshold: 0.3, clearBelow: 0.15 } } },
    });
    expect(await h.db.alarms.loadRulesConfig()).toMatchObject({ sites: { chundu: { smoke: { threshold: 0.3 } } } });

    // 0.25 dB/m held past the verification time: an alarm under the default 0.2 (xinyuan), not under chundu's 0.3.
    const a = h.deps.directory.get('sd-a');
    const b = h.deps.directory.get('sd-b');
    if (!a || !b) throw new Error('devices missing');
    for (const d of [a, b]) {
      await feed(engine, d, T0 + 1_000, { smoke: 0.25 });
      await feed(engine, d, T0 + 40_000, { smoke: 0.25 });
    }
    await engine.idle();
    expect(engine.active().filter((x) => x.type.startsWith('smoke')).map((x) => x.originator.id)).toEqual(['sd-b']);

    // {} removes the site's overrides.
    const cleared = await put('chundu', {});
    expect(cleared.statusCode).toBe(200);
    expect((await h.call('viewer', { method: 'GET', url: '/api/rules' })).json().sites).toEqual({});
  });

  it('two site edits at once both land', async () => {
    const [x, y] = await Promise.all([put('chundu', { bin_fill: { warnAt: 70 } }), put('xinyuan', { bin_fill: { warnAt: 75 } })]);
    expect([x.statusCode, y.statusCode]).toEqual([200, 200]);
    expect((await h.call('viewer', { method: 'GET', url: '/api/rules' })).json().sites).toEqual({ chundu: { bin_fill: { warnAt: 70 } }, xinyuan: { bin_fill: { warnAt: 75 } } });
  });

  it('a site edit racing a whole-configuration replacement applies on top of it, never on the configuration it replaced', async () => {
    // Queued in this order in the engine: the whole replacement first, then the site edit, which must
    // read the replacement (a read-modify-write outside the engine's queue would restore the old `all`).
    const whole = engine.setRulesConfig({ all: { smoke: { verifyS: 25 } }, sites: { chundu: { bin_fill: { warnAt: 60 } } } });
    const site = engine.updateRulesConfig((current) => ({ ...current, sites: { ...current.sites, xinyuan: { bin_fill: { warnAt: 65 } } } }));
    await Promise.all([whole, site]);
    const config = (await h.call('viewer', { method: 'GET', url: '/api/rules' })).json();
    expect(config.all).toEqual({ smoke: { verifyS: 25 } });
    expect(config.sites).toEqual({ chundu: { bin_fill: { warnAt: 60 } }, xinyuan: { bin_fill: { warnAt: 65 } } });
  });
});
