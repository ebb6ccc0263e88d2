import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, positive } from './common.js';

/**
 * Fire confirmed, per building: two independent alarm signals → one building-level critical alarm
 * naming the devices and what each sensed. It is what turns the building's fire incident from
 * 预警 (pre-alarm: one signal, to be verified) into 火警 (fire).
 *
 * GB 50116-2013 §4.1.6 (mandatory as GB 55036-2022 §12.0.11): automatic fire-protection actions
 * need the "与" (AND) of two independent alarm signals — two detectors, or a detector and a manual
 * call point — so that one nuisance signal cannot set them off; the same coincidence is what tells
 * a control room that a building is on fire rather than one detector being noisy. Independent:
 * - two different devices with a fire signal (smoke, heat or a call point) — alarm-only NB-IoT /
 *   Zigbee detectors count like any other: their alarm flag is their smoke signal;
 * - a manual call point on its own: a person confirmed the fire;
 * - one multi-sensor detector whose separate elements agree: smoke with heat (rate of rise or
 *   fixed) or with CO (EN 54-31 smoke + CO detectors exist for that confirmation).
 * CO on its own, on any number of devices, is a poisoning hazard, not two fire signals.
 * Signals count while their device alarm is active and for `windowS` (2 min) after it cleared.
 * It reads the device rules' decisions (signals), so each criterion keeps its own standard, and
 * clears when every signal's device alarm has cleared. While confirmed it repeats at most once a
 * window: if someone resets it by hand while the fire still burns, it stands again (as a control
 * unit reset with detectors still in alarm goes straight back into alarm).
 */
const params = z.object({ ...enabled, windowS: positive });
/** How long a cleared signal still counts towards a confirmation (the rule's default `windowS`). */
export const FIRE_SIGNAL_WINDOW_S = 120;
type Params = z.infer<typeof params>;

type Criterion = 'smoke' | 'heat' | 'co' | 'manual';
/** One device alarm type's signal (heat and heat_rise are both the heat criterion, each with its own life). */
interface Signal { device: string; type: string; criterion: Criterion; ts: number; active: boolean }
interface BuildingState { on: boolean; signals?: Signal[]; shown?: string[]; raisedTs?: number }

/** Which fire criterion each device alarm type stands for. */
export const criterionOf: Readonly<Record<string, Criterion>> = { smoke: 'smoke', heat: 'heat', heat_rise: 'heat', co: 'co', manual_call: 'manual' };

/** Whether the signals are two independent ones (see above). */
export function confirmed(signals: readonly Pick<Signal, 'device' | 'criterion'>[]): boolean {
  const fireDevices = new Set(signals.filter((s) => s.criterion !== 'co').map((s) => s.device));
  if (fireDevices.size >= 2 || signals.some((s) => s.criterion === 'manual')) return true;
  const byDevice = new Map<string, Set<Criterion>>();
  for (const s of signals) byDevice.set(s.device, (byDevice.get(s.device) ?? new Set()).add(s.criterion));
  return [...byDevice.values()].some((c) => c.size >= 2 && (c.has('smoke') || c.has('heat')));
}

export const fireRiskRule: Rule<Params, Record<string, never>> = {
  name: 'fire_risk',
  description: 'Fire confirmed by two independent alarm signals in a building (GB 50116-2013 §4.1.6)',
  alarmTypes: ['fire_risk'],
  kinds: ['smoke_detector', 'manual_call_point'],
  params,
  defaults: { enabled: true, windowS: FIRE_SIGNAL_WINDOW_S },
  initialState: () => ({}),
  onSignal(ctx, sig) {
    const criterion = criterionOf[sig.type];
    if (criterion === undefined) return;
    const { device } = sig;
    const b = ctx.stateOf<BuildingState>(`${device.site}/${device.building}`, () => ({ on: false }));
    const originator = { kind: 'building' as const, id: device.building };
    const horizon = ctx.now - ctx.params.windowS * 1000;
    const signals = (b.signals ?? []).filter((s) => (s.active || s.ts >= horizon) && !(s.device === device.id && s.type === sig.type));
    signals.push({ device: device.id, type: sig.type, criterion, ts: ctx.now, active: sig.action === 'raise' });
    b.signals = signals;
    const pairs = [...new Set(signals.map((s) => `${s.device}:${s.criterion}`))].sort();
    const details = {
      signals: pairs.map((p) => ({ device: p.slice(0, p.lastIndexOf(':')), criterion: p.slice(p.lastIndexOf(':') + 1) })),
      devices: [...new Set(signals.map((s) => s.device))].sort(),
    };
    if (sig.action === 'clear') {
      if (b.on && signals.every((s) => !s.active)) {
        ctx.clear({ type: 'fire_risk', originator, details });
        Object.assign(b, { on: false, signals: [], shown: [] });
      }
      return;
    }
    if (!confirmed(signals)) return;
    // Repeat when the picture grows (a new device or criterion), and at most once a window otherwise:
    // not on every sample, yet soon enough to stand again if someone reset it while the fire burns.
    if (b.on && pairs.every((p) => b.shown?.includes(p)) && ctx.now - (b.raisedTs ?? 0) < ctx.params.windowS * 1000) return;
    b.on = true;
    b.raisedTs = ctx.now;
    b.shown = [...new Set([...(b.shown ?? []), ...pairs])];
    ctx.raise({ type: 'fire_risk', severity: 'critical', originator, details });
  },
};
