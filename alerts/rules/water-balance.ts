import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { HOUR, enabled, nonNegative, positive } from './common.js';

/**
 * Compound balance, daily: master meter consumption minus the sum of its household meters
 * (registry `parent` = the master) above 12 % of the master → warning "possible hidden leak in the
 * network". Cleared by a later day at or below 10 %.
 *
 * CJJ 92-2016 (城镇供水管网漏损控制及评定标准) grades network leakage: 10 % is grade 1 and 12 % the
 * grade-2 benchmark; a compound losing more than that between its master and its flats has a
 * leaking pipe, a bypass or a broken household meter. Days run from local midnight (`utcOffsetMin`,
 * default +08:00, the platform's default site zone). A day is judged only when every meter has a
 * reading at both ends, the period is ≥ 20 h, and the master used ≥ `minMasterM3` (tiny volumes
 * make percentages meaningless).
 */
const pct = z.number().min(0).max(100);
const params = z.object({ ...enabled, lossPct: pct, clearPct: pct, utcOffsetMin: z.number().int().min(-720).max(840), minMasterM3: nonNegative,
  minPeriodH: positive })
  .refine((p) => p.clearPct < p.lossPct, 'clearPct must be below lossPct');
type Params = z.infer<typeof params>;

interface Point { ts: number; volume: number }
interface CompoundState { on: boolean; latest: Record<string, Point>; snap?: { ts: number; volumes: Record<string, number> } }

const DAY = 24 * HOUR;
const dayIndex = (ts: number, offsetMin: number) => Math.floor((ts + offsetMin * 60_000) / DAY);
const compound = (): CompoundState => ({ on: false, latest: {} });

export const waterBalanceRule: Rule<Params, Record<string, never>> = {
  name: 'water_balance',
  description: 'Daily master-minus-households water balance above the CJJ 92 leakage benchmark',
  alarmTypes: ['water_balance'],
  kinds: ['water_meter'],
  params,
  defaults: { enabled: true, lossPct: 12, clearPct: 10, utcOffsetMin: 480, minMasterM3: 1, minPeriodH: 20 },
  initialState: () => ({}),
  onReading(ctx, r) {
    const volume = r.fields.volume;
    if (typeof volume !== 'number') return;
    const master = ctx.device.purpose === 'master' ? ctx.device.id : ctx.device.parent;
    if (master === undefined) return;
    const c = ctx.stateOf(master, compound);
    const prev = c.latest[ctx.device.id];
    if (!prev || ctx.now >= prev.ts) c.latest[ctx.device.id] = { ts: ctx.now, volume };
  },
  onTick(ctx) {
    if (ctx.device.purpose !== 'master') return;
    const p = ctx.params;
    const c = ctx.stateOf(ctx.device.id, compound);
    const members = [ctx.device.id, ...ctx.devices.list().filter((d) => d.kind === 'water_meter' && d.parent === ctx.device.id).map((d) => d.id)];
    const takeSnap = () => {
      c.snap = { ts: ctx.now, volumes: Object.fromEntries(members.flatMap((m) => (c.latest[m] ? [[m, c.latest[m].volume]] : []))) };
    };
    if (!c.snap) return takeSnap();
    if (dayIndex(ctx.now, p.utcOffsetMin) === dayIndex(c.snap.ts, p.utcOffsetMin)) return;
    const snap = c.snap;
    takeSnap();
    if (ctx.now - snap.ts < p.minPeriodH * HOUR || members.length < 2) return;
    const used: Record<string, number> = {};
    for (const m of members) {
      const a = snap.volumes[m];
      const b = c.latest[m]?.volume;
      if (a === undefined || b === undefined) {
        ctx.log.warn({ master: ctx.device.id, meter: m }, 'water balance skipped: a meter has no reading at one end of the day');
        return;
      }
      used[m] = Math.max(0, b - a);
    }
    const masterM3 = used[ctx.device.id] ?? 0;
    if (masterM3 < p.minMasterM3) return;
    const households = members.slice(1).reduce((sum, m) => sum + (used[m] ?? 0), 0);
    const lossPct = ((masterM3 - households) / masterM3) * 100;
    const details = { masterM3: round3(masterM3), householdsM3: round3(households), lossPct: Math.round(lossPct * 10) / 10, households: members.length - 1,
      fromTs: snap.ts, toTs: ctx.now };
    if (lossPct > p.lossPct) {
      c.on = true;
      ctx.raise({ type: 'water_balance', severity: 'warning', details });
    } else if (c.on && lossPct <= p.clearPct) {
      c.on = false;
      ctx.clear({ type: 'water_balance', details });
    }
  },
};

const round3 = (x: number) => Math.round(x * 1000) / 1000;
