import type { BinCategory, Device } from '../../core/index.js';
import { createRng, type Rng } from '../random.js';
import {
  clamp, createForwardClock, createStamp, DAY, HOUR, hourBump, localTime, MINUTE,
  normalizeDaily, outdoorTemperature, round, type Profile, type ProfileOptions,
} from './common.js';
import { createEventTrack } from './events.js';

/**
 * Smart bins at a sorting station. Residents drop bags mostly in the morning and evening drop-off
 * windows many compounds run under household-waste sorting rules, some at noon. Kitchen waste
 * fills fastest and is heaviest per litre; hazardous waste (batteries, lamps, medicines) trickles
 * in and is collected weekly. Each bag raises fill by a few % and adds weight at the category's
 * bulk density, so weight follows fill without being a fixed multiple of it. A collection crew
 * empties the bin on schedule (kitchen and residual at 07:00 and 19:00 local time, recyclables
 * daily, hazardous weekly), a few minutes late on some days.
 */

interface Category {
  capacityL: number;
  /** Loose bulk density, kg/L — orders of magnitude typical of each stream, not measured values. */
  density: number;
  bagsPerDay: number;
  /** Fill added by one bag, %. */
  bag: [number, number];
  /** Collection hours (local) and, when weekly, the weekday (0 = Sunday). */
  collect: readonly number[];
  weekday?: number;
}

const categories: Record<BinCategory, Category> = {
  kitchen: { capacityL: 240, density: 0.55, bagsPerDay: 48, bag: [1.2, 3.5], collect: [7, 19] },
  residual: { capacityL: 240, density: 0.15, bagsPerDay: 32, bag: [1, 3], collect: [7, 19] },
  recyclable: { capacityL: 240, density: 0.06, bagsPerDay: 22, bag: [1, 4], collect: [10] },
  hazardous: { capacityL: 120, density: 0.3, bagsPerDay: 3, bag: [0.5, 2], collect: [10], weekday: 1 },
};

const dropOff = normalizeDaily((h) => 0.02 + hourBump(h, 7.5, 1) + 0.45 * hourBump(h, 12, 1.5) + hourBump(h, 19.8, 1.2));

/** Collection instants in (from, to], in time order. Crews are 0–25 min late, differently each day. */
function collectionsBetween(cat: Category, salt: number, from: number, to: number, utcOffsetMin: number | undefined): number[] {
  const offsetMs = (utcOffsetMin ?? 480) * MINUTE;
  const out: number[] = [];
  for (let day = localTime(from, utcOffsetMin).dayIndex; day <= localTime(to, utcOffsetMin).dayIndex; day++) {
    if (cat.weekday !== undefined && (((day + 4) % 7) + 7) % 7 !== cat.weekday) continue;
    for (const hour of cat.collect) {
      const late = createRng(salt, 'late', day, hour).uniform(0, 25) * MINUTE;
      const at = day * DAY - offsetMs + hour * HOUR + late;
      if (at > from && at <= to) out.push(at);
    }
  }
  return out;
}

export function createSmartBinProfile(device: Device, rng: Rng, start: number, options: ProfileOptions = {}): Profile {
  const off = options.utcOffsetMin;
  const cat = categories[device.category ?? 'residual'];
  const noise = rng.fork('noise');
  const salt = noise.int(0, 2 ** 31);
  const busy = noise.uniform(0.8, 1.2); // stations differ in how many homes use them
  const bags = createEventTrack({
    rng: rng.fork('bags'),
    start,
    consume: true,
    ratePerHour: (t) => (busy * cat.bagsPerDay * dropOff(localTime(t, off).hour)) / 24,
    // A bag: its fill %, the lid open for 10–30 s while it goes in, and its density.
    draw: (r) => ({ durationMs: r.uniform(10_000, 30_000), level: r.uniform(cat.bag[0], cat.bag[1]), extra: cat.density * r.uniform(0.7, 1.3) }),
  });
  // Knocked over (wind, a cart): rare, and righted within the hour.
  const tilts = createEventTrack({ rng: rng.fork('tilt'), start, ratePerHour: () => 1 / (60 * 24), draw: (r) => ({ durationMs: r.uniform(10, 60) * MINUTE, level: 1 }) });

  let fill = noise.uniform(0, 30);
  let weight = (fill / 100) * cat.capacityL * cat.density;
  const tareNoise = noise.uniform(0, 0.3);
  const battery0 = noise.uniform(70, 100);
  const drainPerDay = noise.uniform(0.03, 0.08);
  const clock = createForwardClock(start);
  const stamp = createStamp();
  let lastT = start;

  return {
    device,
    kind: 'smart_bin',
    next(at) {
      const { now } = clock(at);
      const deposits = bags.take(now);
      const pickups = collectionsBetween(cat, salt, lastT, now, off);
      lastT = now;
      // Apply bags and collections in time order.
      let p = 0;
      for (const bag of deposits) {
        while (p < pickups.length && (pickups[p] ?? Infinity) <= bag.start) {
          fill = noise.uniform(0, 2);
          weight = tareNoise;
          p++;
        }
        // A full bin takes no more volume; bags left on top still weigh on the load cell.
        fill = Math.min(100, fill + bag.level);
        weight += (bag.level / 100) * cat.capacityL * bag.extra;
      }
      if (p < pickups.length) {
        fill = noise.uniform(0, 2);
        weight = tareNoise;
      }
      const fermenting = device.category === 'kitchen' ? 1.5 * (fill / 100) : 0;
      return stamp(now, {
        fill: round(clamp(fill + noise.normal(0, 0.3), 0, 100), 1),
        temperature: round(outdoorTemperature(now, off) + fermenting + noise.normal(0, 0.3), 1),
        tilt: tilts.levelAt(now) > 0,
        lid_open: bags.levelAt(now) > 0,
        weight: round(Math.max(0, weight + noise.normal(0, 0.1)), 1),
        battery: round(Math.max(0, battery0 - (drainPerDay * (now - start)) / DAY), 0),
      });
    },
  };
}
