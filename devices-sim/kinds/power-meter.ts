import type { Device, MeterPurpose } from '../../core/index.js';
import type { Rng } from '../random.js';
import {
  annualCosine, clamp, createForwardClock, createRegister, createStamp, dayFactor, hourBump, indoorTemperature,
  localTime, MINUTE, normalizeDaily, rateFactor, round, scaledInterval, type Profile, type ProfileOptions,
} from './common.js';
import { createEventTrack, type EventTrack } from './events.js';
import type { WaterDemand } from './water-meter.js';

/**
 * Power meters on the circuits of a compound. Shapes:
 * - household / master / other: the typical residential daily load profile — low at night, a
 *   morning peak around 07:00, a shoulder at noon and the day's largest peak in the evening
 *   (19:00–21:00); weekends rise later and stay busier at midday; a mild seasonal factor with a
 *   summer (air-conditioning) maximum and a smaller winter bump; a random factor per day.
 * - common_lighting: stairwell lights on from dusk to dawn (sunset moves ~17:00–19:00 over the
 *   year at the demo's latitude), fewer lit at the dead of night (motion sensors), near-zero by day.
 * - elevator: standby load plus a burst for each trip; trips follow people leaving in the morning
 *   and coming home in the evening.
 * - water_pump: a variable-speed booster pump, whose power rises with the water drawn (linked to
 *   the compound's master water meter when there is one).
 * Voltage is China's 220 V mains, sagging a little at the evening peak (GB/T 12325-2008 allows
 * +7 %/−10 % for 220 V single-phase supply; the simulation stays well inside). Current is P/V
 * (unity power factor assumed). Levels are kept below 70 % of the circuit's rated current, so the
 * baseline never trips an overload rule on its own.
 */

export interface PowerMeterOptions extends ProfileOptions {
  /** water_pump meters: the demand the pump supplies (the compound's master water meter). */
  waterDemand?: WaterDemand;
}

/** Circuit rated current (A) when the registry gives none. */
const defaultRated: Record<MeterPurpose, number> = {
  household: 40, common_lighting: 16, elevator: 32, water_pump: 63, master: 250, other: 32, fire_pump: 63, smoke_extraction: 32, emergency_lighting: 10,
};
/** Mean load (W) of the residential-curve purposes; on-load of lighting; full-flow load of the pump. */
// Fire equipment idles on standby (controls, trickle charge) until the fire system starts it.
const nominalW: Record<MeterPurpose, number> = {
  household: 900, common_lighting: 350, elevator: 250, water_pump: 7_500, master: 30_000, other: 1_500,
  fire_pump: 60, smoke_extraction: 40, emergency_lighting: 80,
};

const weekdayCurve = normalizeDaily((h) => 0.3 + 0.55 * hourBump(h, 7.3, 0.9) + 0.35 * hourBump(h, 12.2, 1.2) + hourBump(h, 20, 1.8));
const weekendCurve = normalizeDaily((h) => 0.3 + 0.45 * hourBump(h, 9, 1.4) + 0.55 * hourBump(h, 12.5, 1.8) + hourBump(h, 20, 2));
const liftTraffic = normalizeDaily((h) => 0.03 + hourBump(h, 7.8, 1) + 0.5 * hourBump(h, 12, 1.5) + 0.9 * hourBump(h, 18.5, 1.5) + 0.3 * hourBump(h, 21, 1.5));

function residentialLoad(t: number, utcOffsetMin: number | undefined): number {
  const lt = localTime(t, utcOffsetMin);
  const curve = lt.weekend ? weekendCurve : weekdayCurve;
  const season = 1 + 0.12 * annualCosine(lt.dayOfYear, 205) + 0.05 * Math.max(0, annualCosine(lt.dayOfYear, 15)) ** 4;
  return curve(lt.hour) * season;
}

/** 0 by day, 1 at night, with a ~½ h twilight ramp (photocell / timer switching). */
function darkness(t: number, utcOffsetMin: number | undefined): number {
  const lt = localTime(t, utcOffsetMin);
  const swing = annualCosine(lt.dayOfYear, 172); // +1 at the June solstice
  const sunset = 18 + swing;
  const sunrise = 6 - swing;
  const logistic = (x: number) => 1 / (1 + Math.exp(-x / 0.25));
  return Math.max(logistic(lt.hour - sunset), logistic(sunrise - lt.hour));
}

export function createPowerMeterProfile(device: Device, rng: Rng, start: number, options: PowerMeterOptions = {}): Profile {
  const purpose: MeterPurpose = device.purpose ?? 'other';
  const off = options.utcOffsetMin;
  const rated = device.rated_current ?? defaultRated[purpose];
  const noise = rng.fork('noise');
  const salt = noise.int(0, 2 ** 31);
  const scale = noise.uniform(0.8, 1.2);
  const nominal = nominalW[purpose] * scale;

  let trips: EventTrack | undefined;
  if (purpose === 'elevator') {
    // A small retrofitted traction lift: a few kW while moving, 20–50 s a trip.
    trips = createEventTrack({
      rng: rng.fork('trips'),
      start,
      ratePerHour: (t) => 6 * liftTraffic(localTime(t, off).hour),
      draw: (r) => ({ durationMs: r.uniform(20_000, 50_000), level: r.uniform(2_500, 4_500) }),
    });
  }
  const demand = options.waterDemand;
  const designFlow = demand?.designFlow ?? 60;
  const pumpIdleW = 400;

  /** Smooth power (W) without measurement noise: what the energy register integrates. */
  function basePower(t: number): number {
    switch (purpose) {
      case 'common_lighting': {
        const lateNight = hourBump(localTime(t, off).hour, 3, 1.5);
        return 15 + nominal * darkness(t, off) * (1 - 0.4 * lateNight);
      }
      case 'elevator':
        return nominal + (trips?.levelAt(t) ?? 0);
      case 'water_pump':
        return pumpIdleW + (nominal * pumpFlow(t)) / designFlow;
      default:
        return nominal * residentialLoad(t, off) * dayFactor(salt, localTime(t, off).dayIndex, 0.1);
    }
  }

  function pumpFlow(t: number): number {
    if (demand) return demand.flowAt(t);
    // Unlinked: a compound's demand following the same evening-peaking curve.
    return designFlow * 0.35 * residentialLoad(t, off);
  }

  /** Energy in W·min from `t0` to `t1`: exact where the shape allows, midpoint sums elsewhere. */
  function energyWmin(t0: number, t1: number): number {
    if (t1 <= t0) return 0;
    if (purpose === 'elevator' && trips) return (nominal * (t1 - t0)) / MINUTE + trips.integralTo(t1) - trips.integralTo(t0);
    if (purpose === 'water_pump' && demand) {
      // Power is linear in flow, so its integral is linear in litres drawn.
      return (pumpIdleW * (t1 - t0)) / MINUTE + (nominal / designFlow) * (demand.litresTo(t1) - demand.litresTo(t0));
    }
    const steps = Math.max(1, Math.ceil((t1 - t0) / MINUTE));
    const h = (t1 - t0) / steps;
    let sum = 0;
    for (let i = 0; i < steps; i++) sum += basePower(t0 + (i + 0.5) * h) * h;
    return sum / MINUTE;
  }

  const clock = createForwardClock(start);
  const register = createRegister(3);
  const stamp = createStamp();
  let energyKwh = noise.uniform(100, 20_000) * (purpose === 'master' ? 20 : 1);
  const leakBaseMa = noise.uniform(1.5, 5);
  const ratedRiseK = 40; // PVC insulation: 70 °C conductor limit at 30 °C reference ambient → 40 K at rated current
  const tauMs = 20 * MINUTE; // thermal time constant of a cable in a distribution box, order of tens of minutes
  let cableTemp: number | undefined;
  let lastT = start;

  return {
    device,
    kind: 'power_meter',
    next(at) {
      const { now, dt } = clock(at);
      // A retrofit (options.scale) scales the load from its date on: register and power alike.
      energyKwh += scaledInterval(options.scale, lastT, now, energyWmin) / 60 / 1000;
      lastT = now;
      const lt = localTime(now, off);
      const gridLoad = weekdayCurve(lt.hour) / 2.2; // 0.15–1: the feeder is busiest at the evening peak
      const voltage = 226 - 6 * gridLoad + noise.normal(0, 0.8);
      const maxW = 0.7 * rated * voltage;
      const power = clamp(basePower(now) * rateFactor(options.scale, now) * noise.normal(1, 0.04), 0, maxW);
      const current = power / voltage;
      const target = indoorTemperature(now, off) + ratedRiseK * (current / rated) ** 2;
      cableTemp = cableTemp === undefined ? target : cableTemp + (target - cableTemp) * (1 - Math.exp(-dt / tauMs));
      return stamp(now, {
        energy: register(energyKwh),
        power: round(power, 1),
        voltage: round(voltage, 1),
        current: round(current, 3),
        residual_current: round(Math.max(0, leakBaseMa + 0.05 * current + noise.normal(0, 0.2)), 1),
        cable_temperature: round(cableTemp + noise.normal(0, 0.1), 1),
      });
    },
  };
}

