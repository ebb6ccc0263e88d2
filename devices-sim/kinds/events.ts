import type { Rng } from '../random.js';
import { HOUR, MINUTE } from './common.js';

/**
 * A non-homogeneous Poisson process of events with a duration and a level (a shower at 8 L/min for
 * 7 minutes, an elevator trip at 4 kW for 40 s, a bag of 2 % into a bin).
 *
 * Events are generated on a fixed time grid from the track's start, one grid step at a time, from
 * the track's own random stream. So the schedule depends only on (stream, start, rate), never on
 * when or how often someone looks at it: a meter sampled every 10 s and the master meter summing it
 * every minute see exactly the same showers.
 */
export interface SimEvent {
  readonly start: number;
  readonly end: number;
  /** Rate while active (L/min, W) or size of a discrete event (% fill). */
  readonly level: number;
  /** Free per-event value, e.g. the density of a bag of waste. */
  readonly extra: number;
  readonly tag: string;
}

export interface EventDraw {
  durationMs: number;
  level: number;
  extra?: number;
  tag?: string;
}

export interface EventTrackSpec {
  rng: Rng;
  start: number;
  /** Expected events per hour at time `t` (evaluated at the start of each grid step). */
  ratePerHour(t: number): number;
  draw(rng: Rng, t: number): EventDraw;
  /** Grid step; default 1 minute. */
  stepMs?: number;
  /**
   * Discrete consumers call `take()`; their events are only forgotten once taken. Integrating
   * consumers (meters) let finished events fold into a running total.
   */
  consume?: boolean;
}

export interface EventTrack {
  /** Sum of the levels of events active at `t`. */
  levelAt(t: number): number;
  /** ∫ level dt from the track's start to `t`, in level·minutes (L/min → litres, W → W·min). */
  integralTo(t: number): number;
  /** Events that began at or before `t` and were not taken yet, in time order. */
  take(t: number): SimEvent[];
}

// Finished events are kept this long, so that readers a little behind (a master meter querying a
// child meter at an earlier instant) still see them individually.
const RETAIN_MS = 6 * HOUR;

export function createEventTrack(spec: EventTrackSpec): EventTrack {
  const step = spec.stepMs ?? MINUTE;
  let generatedTo = spec.start;
  let events: Array<SimEvent & { taken: boolean }> = [];
  let retired = 0;
  let latest = spec.start;
  let prunedAt = spec.start;

  function advance(t: number): void {
    while (generatedTo <= t) {
      const s = generatedTo;
      const n = spec.rng.poisson((Math.max(0, spec.ratePerHour(s)) * step) / HOUR);
      const batch: Array<SimEvent & { taken: boolean }> = [];
      for (let i = 0; i < n; i++) {
        const at = s + spec.rng.next() * step;
        const d = spec.draw(spec.rng, at);
        batch.push({ start: at, end: at + Math.max(0, d.durationMs), level: d.level, extra: d.extra ?? 0, tag: d.tag ?? '', taken: false });
      }
      batch.sort((x, y) => x.start - y.start);
      events.push(...batch);
      generatedTo = s + step;
    }
    if (t > latest) latest = t;
    // Prune every few minutes of simulated time, not on every look: keeps a busy track cheap.
    if (latest - prunedAt >= 10 * MINUTE) {
      prunedAt = latest;
      const cutoff = latest - RETAIN_MS;
      {
        const keep: typeof events = [];
        for (const e of events) {
          if (e.end < cutoff && (e.taken || !spec.consume)) retired += (e.level * (e.end - e.start)) / MINUTE;
          else keep.push(e);
        }
        events = keep;
      }
    }
  }

  return {
    levelAt(t) {
      advance(t);
      let sum = 0;
      for (const e of events) if (e.start <= t && t < e.end) sum += e.level;
      return sum;
    },
    integralTo(t) {
      advance(t);
      let sum = retired;
      for (const e of events) if (e.start < t) sum += (e.level * (Math.min(e.end, t) - e.start)) / MINUTE;
      return sum;
    },
    take(t) {
      advance(t);
      const out: SimEvent[] = [];
      for (const e of events) {
        if (e.start > t) break;
        if (!e.taken) {
          e.taken = true;
          out.push(e);
        }
      }
      return out;
    },
  };
}
