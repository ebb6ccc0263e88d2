import type { Device } from '../../core/index.js';
import type { Rng } from '../random.js';
import {
  createForwardClock, createRegister, createScaledIntegral, createStamp, DAY, hourBump, localTime, MINUTE, normalizeDaily, rateFactor, round,
  type Profile, type ProfileOptions,
} from './common.js';
import { createEventTrack, type EventDraw } from './events.js';

/**
 * Water meters. A household's use is a stream of discrete draws — showers, toilet cisterns
 * refilling, taps for cooking and washing up, washing-machine fills — timed by the daily rhythm of
 * a home: a morning peak, cooking around noon, and the largest peak in the evening when people
 * shower. At night only the odd toilet flush remains, so night flow is near zero; a meter that
 * shows steady night flow is what leak detection looks for.
 *
 * Volumes are set so a household of 2–4 people uses in the order of 100–150 L per person per day.
 * The master meter sees the sum of its household meters plus a little loss in the compound's pipes.
 */

/** What a water meter's consumers look like to others: the master sums these, the booster pump follows them. */
export interface WaterDemand {
  /** Instantaneous flow at `t`, L/min. */
  flowAt(t: number): number;
  /** Litres drawn from the start to `t`. */
  litresTo(t: number): number;
  /** A flow at which the supply (e.g. a booster pump) runs near its design point, L/min. */
  readonly designFlow: number;
}

export interface WaterMeterProfile extends Profile {
  readonly demand: WaterDemand;
}

export interface WaterMeterOptions extends ProfileOptions {
  /** Master meters: the demand of the household meters under it (otherwise it simulates its own). */
  households?: readonly WaterDemand[];
}

interface Use {
  tag: string;
  /** Expected uses per day: per person, or per household when `perHousehold`. */
  perDay: number;
  perHousehold?: boolean;
  shape: (hour: number) => number;
  minutes: [number, number];
  flow: [number, number];
}

const uses: readonly Use[] = [
  { tag: 'shower', perDay: 0.7, shape: normalizeDaily((h) => 0.35 * hourBump(h, 7, 1) + hourBump(h, 21, 1.5)), minutes: [5, 12], flow: [7, 10] },
  // The cistern refill after a flush: 6–9 L in well under a minute.
  { tag: 'toilet', perDay: 5, shape: normalizeDaily((h) => 0.03 + hourBump(h, 7, 1.2) + 0.6 * hourBump(h, 12.5, 2) + hourBump(h, 20.5, 2.5)), minutes: [0.5, 0.8], flow: [9, 12] },
  { tag: 'tap', perDay: 14, perHousehold: true, shape: normalizeDaily((h) => 0.01 + hourBump(h, 7, 1) + 0.9 * hourBump(h, 11.5, 1) + hourBump(h, 18.3, 1.2)), minutes: [0.3, 3], flow: [3, 6] },
  { tag: 'washing', perDay: 1.2, perHousehold: true, shape: normalizeDaily((h) => hourBump(h, 9, 2) + hourBump(h, 19.5, 2)), minutes: [2, 4], flow: [8, 12] },
];

/** One home's draws, from its own random stream (see events.ts on why that makes it shareable). */
export function createHouseholdDemand(rng: Rng, start: number, options: ProfileOptions = {}): WaterDemand {
  const persons = rng.int(1, 4);
  const rates = (t: number): number[] => {
    const lt = localTime(t, options.utcOffsetMin);
    // Weekends start later: shift the day's rhythm back about an hour.
    const h = lt.weekend ? (lt.hour + 23) % 24 : lt.hour;
    return uses.map((u) => ((u.perHousehold ? u.perDay : u.perDay * persons) * u.shape(h)) / 24);
  };
  const track = createEventTrack({
    rng: rng.fork('draws'),
    start,
    ratePerHour: (t) => rates(t).reduce((a, b) => a + b, 0),
    draw: (r, t): EventDraw => {
      const rs = rates(t);
      let x = r.next() * rs.reduce((a, b) => a + b, 0);
      let use = uses[0] as Use;
      for (let i = 0; i < uses.length; i++) {
        x -= rs[i] ?? 0;
        use = uses[i] as Use;
        if (x < 0) break;
      }
      return { durationMs: r.uniform(use.minutes[0], use.minutes[1]) * MINUTE, level: r.uniform(use.flow[0], use.flow[1]), tag: use.tag };
    },
  });
  // A retrofit (low-flow fixtures, options.scale) scales every draw from its date on: the meter,
  // the master meter summing it and the booster pump following that all see the same saving.
  const scale = options.scale;
  return {
    flowAt: (t) => track.levelAt(t) * rateFactor(scale, t),
    litresTo: createScaledIntegral(scale, (t) => track.integralTo(t)),
    designFlow: 12,
  };
}

/** A compound's supply: its households plus pipe loss (a fraction of the flow and a small constant leak). */
export function createMasterDemand(rng: Rng, start: number, households: readonly WaterDemand[]): WaterDemand {
  const lossFraction = rng.uniform(0.02, 0.05);
  // Seepage at joints and valves: a small steady flow that grows with the size of the network.
  const leakLpm = rng.uniform(0.005, 0.015) * Math.max(1, households.length);
  return {
    flowAt: (t) => households.reduce((sum, h) => sum + h.flowAt(t), 0) * (1 + lossFraction) + leakLpm,
    litresTo: (t) => households.reduce((sum, h) => sum + h.litresTo(t), 0) * (1 + lossFraction) + (leakLpm * Math.max(0, t - start)) / MINUTE,
    // Not every home draws at once: size the supply for a fraction of the homes at peak.
    designFlow: Math.max(20, households.length * 4),
  };
}

/** Without linked household meters a master meter stands for a compound of this many homes. */
const VIRTUAL_HOUSEHOLDS = 24;

export function createWaterMeterProfile(device: Device, rng: Rng, start: number, options: WaterMeterOptions = {}): WaterMeterProfile {
  const master = device.purpose === 'master';
  const demand = master
    ? createMasterDemand(rng.fork('loss'), start, options.households ?? Array.from({ length: VIRTUAL_HOUSEHOLDS }, (_, i) => createHouseholdDemand(rng.fork(`home-${i}`), start, options)))
    : createHouseholdDemand(rng.fork('demand'), start, options);
  const noise = rng.fork('noise');
  // Registers start where an installed meter of some age would be.
  const initialM3 = master ? noise.uniform(10_000, 60_000) : noise.uniform(50, 900);
  const battery0 = noise.uniform(60, 100);
  // ISO 4064-class battery meters are specified for years of life: a few hundredths of % a day.
  const drainPerDay = noise.uniform(0.01, 0.03);
  const clock = createForwardClock(start);
  const register = createRegister(3);
  const stamp = createStamp();
  return {
    device,
    kind: 'water_meter',
    demand,
    next(at) {
      const { now } = clock(at);
      return stamp(now, {
        volume: register(initialM3 + demand.litresTo(now) / 1000),
        flow: round(demand.flowAt(now), 1),
        battery: round(Math.max(0, battery0 - (drainPerDay * (now - start)) / DAY), 0),
      });
    },
  };
}
