import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Device } from '../core/index.js';
import { DEFAULT_BACKFILL_STEP_MS, parseRetrofits, runBackfill, type BackfillDeps, type Profile, type Retrofit } from '../devices-sim/index.js';
import type { TelemetryStore } from '../storage/index.js';
import { StartupError } from './startup-errors.js';

/**
 * The demo community's recent history, so that a first start shows a living community (charts with
 * weeks behind them, a savings report) within a minute instead of empty screens.
 *
 * On the start that registers the demo devices, a plan is written to `demo-history.json` in the data
 * directory — where the history begins, where the backfill ends, the seed and retrofits — and the
 * backfill runs in the background straight into the store (the same profiles as the live fleet, so
 * nothing passes through ingest or raises alarms). The live fleet starts its profiles at the same
 * origin with the same seed and retrofits, so its registers continue the backfilled ones: no cliff
 * between the last backfilled reading and the first live one, on this start or any later one.
 * A backfill cut short (Anju stopped meanwhile) runs again on the next start: writes are idempotent.
 * `anju sim backfill` on the demo devices writes the same plan, so the fleet continues its history too.
 */

export const DEMO_HISTORY_FILE = 'demo-history.json';
const DAY = 86_400_000;

const planSchema = z.object({
  /** Where the history (and the live profiles) begin, epoch ms. */
  origin: z.number().int(),
  /** End of the backfilled period (exclusive), epoch ms; the live fleet takes over from here. */
  end: z.number().int(),
  seed: z.number().int(),
  stepMs: z.number().int().positive(),
  /** `anju sim backfill --retrofit` syntax, '' for none. */
  retrofits: z.string(),
  /** Set once the backfill has written everything. */
  completedAt: z.number().int().optional(),
});
export type DemoHistoryPlan = z.infer<typeof planSchema>;

/**
 * The plan in the data directory, or undefined when there is none. A file that is there but not a
 * plan (edited by hand, a disk fault) stops start-up with a StartupError naming the file: treated as
 * absent, the live fleet would start its registers afresh and put a cliff in every chart, and a new
 * plan written over it would lose the one history the store already holds.
 */
export async function readDemoHistoryPlan(dataDir: string): Promise<DemoHistoryPlan | undefined> {
  const file = join(dataDir, DEMO_HISTORY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return undefined;
    throw new StartupError(`cannot read the demo history plan ${file}: ${(err as Error).message}.\n  Make it readable by this user, or delete it (the demo's live registers then start afresh).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corruptPlan(file, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = planSchema.safeParse(json);
  if (!parsed.success) throw corruptPlan(file, z.prettifyError(parsed.error).replace(/\n/g, '; '));
  return parsed.data;
}

function corruptPlan(file: string, why: string): StartupError {
  return new StartupError(
    `the demo history plan ${file} is damaged: ${why}.\n`
    + '  Delete it: the demo then keeps its stored history, '
    + 'but its live registers start afresh (a step in the charts). ANJU_SIM=0 starts without the demo fleet.',
  );
}

export async function writeDemoHistoryPlan(dataDir: string, plan: DemoHistoryPlan): Promise<void> {
  const file = join(dataDir, DEMO_HISTORY_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(plan, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/**
 * The demo's retrofits inside a `days`-long history ending at `end`: LED stairwell lighting and a
 * VFD on the booster pump from 30 days before the end (local date, Asia/Shanghai) — the control
 * room's default savings report compares the last 30 days with the 365 before, so a 400-day history
 * gives it a full CalTRACK baseline before the retrofit and a reporting period after. A shorter
 * history has them in its middle.
 */
export function demoRetrofits(end: number, days: number): string {
  const before = days >= 60 ? 30 : Math.floor(days / 2);
  const at = new Date(end - before * DAY + 8 * 3_600_000).toISOString().slice(0, 10);
  return `led:${at},vfd:${at}`;
}

/** Written first, so that charts have recent weeks within a minute while the older history follows. */
export const RECENT_DAYS = 35;
/** How often the recent pass logs how far it is. */
const PROGRESS_EVERY_MS = 5_000;

/** The fleet's side of a plan: where its profiles begin and which retrofits they carry. */
export function fleetHistory(plan: DemoHistoryPlan | undefined): { historyStart?: number; retrofits?: Retrofit[]; seed?: number } {
  return plan ? { historyStart: plan.origin, retrofits: parseRetrofits(plan.retrofits), seed: plan.seed } : {};
}

/**
 * Decides the demo's history on this start: the existing plan, or a new one when the demo
 * community was registered just now (`created`); a data directory from before plans existed keeps
 * its registers as they were (no plan, no backfill).
 */
export async function planDemoHistory(
  dataDir: string,
  opts: { created: boolean; days: number; seed: number; now: number },
): Promise<DemoHistoryPlan | undefined> {
  const existing = await readDemoHistoryPlan(dataDir);
  if (existing || !opts.created || opts.days <= 0) return existing;
  const stepMs = DEFAULT_BACKFILL_STEP_MS;
  const end = Math.floor(opts.now / stepMs) * stepMs;
  const plan = { origin: end - Math.round(opts.days) * DAY, end, seed: opts.seed, stepMs, retrofits: demoRetrofits(end, opts.days) };
  await writeDemoHistoryPlan(dataDir, plan);
  return plan;
}

/** The recent pass's profiles and the instant of their last step, for the live fleet to continue. */
export interface HandedProfiles { profiles: ReadonlyMap<string, Profile>; at: number }

/**
 * Runs a plan's backfill in the background; `done` says whether it wrote everything. `recent`
 * resolves once the recent weeks are written, with the profiles that wrote them (stepped up to the
 * plan's end): the demo fleet continues those instead of catching up 400 days of its own on the same
 * thread at the same time, which halved how soon the first screens filled (BENCHMARKS.md, demo
 * history). `recent` resolves undefined when the recent pass failed or was stopped. `stop()` cuts
 * the backfill short between batches and waits for the write in flight (the store may be closed after).
 */
export function startDemoBackfill(
  plan: DemoHistoryPlan,
  deps: { dataDir: string; store: TelemetryStore; devices: readonly Device[]; logger: Logger },
): { done: Promise<boolean>; recent: Promise<HandedProfiles | undefined>; stop(): Promise<void> } {
  const abort = new AbortController();
  const days = (plan.end - plan.origin) / DAY;
  deps.logger.info({ days, devices: deps.devices.length }, 'writing the demo community\'s history in the background');
  const started = Date.now();
  // Two passes over the same profiles from the same origin (so registers agree where they meet):
  // the recent weeks first (the older part caught up without writing), then the older part.
  const recentFrom = Math.max(plan.origin, plan.end - RECENT_DAYS * DAY);
  let handed: HandedProfiles | undefined;
  const pass = (end: number, writeFrom: number, recentPass?: Pick<BackfillDeps, 'handOver' | 'onCatchUp' | 'onProgress'>) => runBackfill(
    { days: (end - plan.origin) / DAY, end, stepMs: plan.stepMs, seed: plan.seed, retrofits: parseRetrofits(plan.retrofits), writeFrom },
    { store: deps.store, devices: deps.devices, logger: deps.logger, signal: abort.signal, ...recentPass },
  );
  // How far the recent weeks are, every few seconds: the days caught up (not written) and the days
  // written, as one percentage — what someone watching the log (or a test) waits on.
  const catchUpDays = (recentFrom - plan.origin) / DAY;
  const recentDays = (plan.end - recentFrom) / DAY;
  let loggedAt = 0;
  const progress = (caughtUp: number, written: number) => {
    if (Date.now() - loggedAt < PROGRESS_EVERY_MS) return;
    loggedAt = Date.now();
    const percent = Math.floor((100 * (caughtUp + written)) / Math.max(1, catchUpDays + recentDays));
    deps.logger.info({ percent, caughtUpDays: Math.floor(caughtUp), writtenDays: Math.floor(written) }, 'demo history: recent weeks in progress');
  };
  const recentPass = pass(plan.end, recentFrom, {
    handOver: (profiles, at) => { handed = { profiles, at }; },
    onCatchUp: (t) => progress((t - plan.origin) / DAY, 0),
    onProgress: (stored, total) => progress(catchUpDays, (recentDays * stored) / Math.max(1, total)),
  });
  const recent = recentPass.then(() => handed, () => undefined);
  const done = (async () => {
    const recent = await recentPass;
    deps.logger.info({ readings: recent.readings, seconds: Math.round((Date.now() - started) / 1000) }, 'demo community: recent history written');
    const older = recentFrom > plan.origin ? await pass(recentFrom, plan.origin) : { readings: 0 };
    return recent.readings + older.readings;
  })().then(
    async (readings) => {
      await writeDemoHistoryPlan(deps.dataDir, { ...plan, completedAt: Date.now() });
      deps.logger.info({ readings, seconds: Math.round((Date.now() - started) / 1000) }, 'demo community history written');
      return true;
    },
    (err: unknown) => {
      if (abort.signal.aborted) deps.logger.info('demo history cut short by the stop; it is written again on the next start');
      else deps.logger.error({ err }, 'could not write the demo community\'s history; it is tried again on the next start');
      return false;
    },
  );
  return {
    done,
    recent,
    async stop() {
      abort.abort(new Error('stopping'));
      await done;
    },
  };
}
