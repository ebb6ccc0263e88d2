import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_HISTORY_FILE, planDemoHistory, readDemoHistoryPlan } from '../../cli/demo-history.js';
import { StartupError } from '../../cli/startup-errors.js';
import { bundleAnju } from '../helpers/anju-process.js';
import { anjuEnv, run } from './cli-helpers.js';

/**
 * The demo history plan (demo-history.json): absent is a first start, a plan is read back as
 * written, and a damaged file stops start-up with a message naming the file and what to do — never
 * a stack trace, and never a new plan written over it.
 */
describe('demo history plan file', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'anju-plan-')); });
  afterAll(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

  it('absent: no plan; written on the start that creates the demo, then read back', async () => {
    const d = join(dir, 'fresh');
    expect(await readDemoHistoryPlan(d)).toBeUndefined();
    await mkdir(d);
    const plan = await planDemoHistory(d, { created: true, days: 10, seed: 7, now: Date.UTC(2026, 0, 15, 12) });
    expect(plan).toBeDefined();
    expect(await readDemoHistoryPlan(d)).toEqual(plan);
  });

  it.each([
    ['truncated JSON', '{"origin": 17', /not valid JSON/],
    ['not a plan', '{"origin": "yesterday"}', /origin/],
    ['empty file', '', /not valid JSON/],
  ])('%s: a StartupError naming the file and the way out', async (_name, text, why) => {
    const d = await mkdtemp(join(dir, 'bad-'));
    await writeFile(join(d, DEMO_HISTORY_FILE), text);
    const err = await planDemoHistory(d, { created: false, days: 10, seed: 7, now: Date.now() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    const message = (err as Error).message;
    expect(message).toContain(join(d, DEMO_HISTORY_FILE));
    expect(message).toMatch(why);
    expect(message).toMatch(/delete it/i);
  });

  it('anju all on a data dir with a damaged plan exits 1 with the message, no stack trace', async () => {
    const { entry, remove } = await bundleAnju();
    try {
      const d = await mkdtemp(join(dir, 'cli-'));
      await writeFile(join(d, DEMO_HISTORY_FILE), '{"origin": 1700000000000, "end":');
      const r = await run(process.execPath, [entry, 'all'], anjuEnv({ ANJU_DATA_DIR: d, ANJU_SIM: '1', ANJU_ADMIN_TOKEN: 'plan-admin-token-0123456789' }));
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`the demo history plan ${join(d, DEMO_HISTORY_FILE)} is damaged`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await remove();
    }
  }, 90_000);
});
