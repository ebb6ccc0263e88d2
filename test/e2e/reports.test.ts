import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, startAnju, type AnjuProcess } from '../helpers/anju-process.js';

const ADMIN = 'reports-admin-token-0123456789';
const root = fileURLToPath(new URL('../../', import.meta.url));
const DAY = 86_400_000;

/** `anju sim backfill` as a real process on the data dir (the platform must not be running: DuckDB locks its file). */
function backfill(dataDir: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'sim', 'backfill', ...args], {
      cwd: root, env: { PATH: process.env.PATH ?? '', ANJU_DATA_DIR: dataDir, ANJU_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

describe('reports end to end: backfill with a retrofit, then the savings report finds it through the API', () => {
  let dataDir: string;
  let anju: AnjuProcess;
  const today = new Date(new Date().toISOString().slice(0, 10)).getTime();
  const retrofit = new Date(today - 21 * DAY).toISOString().slice(0, 10);
  /** A local date (the site's zone) `n` days ago: reports take YYYY-MM-DD as local midnight. */
  const day = (n: number) => new Date(today - n * DAY).toISOString().slice(0, 10);

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'anju-reports-e2e-'));
    // First start seeds the demo community's registry; stop it so the backfill can open the store.
    const seed = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '1', ANJU_DEMO_HISTORY_DAYS: '0', ANJU_ADMIN_TOKEN: ADMIN });
    await seed.stop();
    const r = await backfill(dataDir, ['--days', '44', '--retrofit', `led:${retrofit}`, '--seed', '7']);
    expect(r.code, r.out).toBe(0);
    anju = await startAnju('all', { ANJU_DATA_DIR: dataDir, ANJU_SIM: '0', ANJU_ADMIN_TOKEN: ADMIN });
  }, 240_000);

  afterAll(async () => {
    await anju?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('savings (json, csv, html), waste and fire-safety answer for the demo site; bad requests get coded 4xx', async () => {
    const api = apiClient(anju.http, ADMIN);
    const q = `site=chundu&baselineFrom=${day(42)}&baselineTo=${day(21)}&from=${day(21)}&to=${day(1)}`;
    type Line = { scope: string; purpose?: string; building?: string; utility: string; avoidedFraction: number; significant: boolean;
      uncertainty: { m: number }; claim: { status: string; reasons: string[] } };
    const savings = await api<{ sufficiency: { status: string }; lines: Line[] }>('GET', `/api/reports/savings?${q}`);
    expect(savings.status, JSON.stringify(savings.body).slice(0, 500)).toBe(200);
    // 21 days of baseline: CalTRACK calls it insufficient, and nothing is claimed.
    expect(savings.body.sufficiency.status).toBe('insufficient');
    const lighting = savings.body.lines.filter((l) => l.purpose === 'common_lighting' && !l.building);
    expect(lighting.length, JSON.stringify(savings.body.lines.map((l) => [l.scope, l.purpose, l.building]))).toBeGreaterThan(0);
    for (const line of lighting) {
      expect(line.significant).toBe(false);
      expect(line.claim.status).toBe('withheld');
      expect(line.claim.reasons).toContain('insufficient_baseline');
      // The injected LED retrofit cut common lighting by 40 %: the estimate finds it — unless the
      // weeks since were colder or warmer than any baseline day (the dates follow today's season),
      // and then the report compares nothing rather than extrapolate, and says why.
      if (line.uncertainty.m > 0) {
        expect(line.avoidedFraction).toBeGreaterThan(0.3);
        expect(line.avoidedFraction).toBeLessThan(0.5);
      } else {
        expect(line.claim.reasons).toContain('temperature_out_of_range');
      }
    }
    const lifts = savings.body.lines.filter((l) => l.purpose === 'elevator' && !l.building && l.uncertainty.m > 0);
    for (const line of lifts) expect(Math.abs(line.avoidedFraction)).toBeLessThan(0.15);

    const csv = await fetch(`${anju.http}/api/reports/savings?${q}&format=csv`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(csv.status).toBe(200);
    // UTF-8 BOM (so Excel reads Chinese correctly); Response.text() would strip it, so read bytes.
    expect([...new Uint8Array(await csv.arrayBuffer()).slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const html = await fetch(`${anju.http}/api/reports/savings?${q}&format=html&lang=en`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(html.status).toBe(200);
    const page = await html.text();
    expect(page).toMatch(/<svg/);
    expect(page).not.toMatch(/⟦/);

    const period = `site=chundu&from=${day(21)}&to=${day(1)}`;
    expect((await api('GET', `/api/reports/waste?${period}`)).status).toBe(200);
    expect((await api('GET', `/api/reports/fire-safety?${period}`)).status).toBe(200);

    const overlap = await api<{ error: { code: string } }>('GET', `/api/reports/savings?site=chundu&baselineFrom=${day(30)}&baselineTo=${day(10)}&from=${day(20)}&to=${day(1)}`);
    expect(overlap.status).toBe(400);
    expect(overlap.body.error.code).toBe('baseline_overlap');
    const unknown = await api<{ error: { code: string } }>('GET', `/api/reports/waste?site=atlantis&${period.replace('site=chundu&', '')}`);
    expect(unknown.status).toBe(404);
    expect((await api('GET', '/api/reports')).status).toBe(200);
  }, 120_000);
});
