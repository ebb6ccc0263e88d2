import type { Device } from '../../core/index.js';
import type { Rng } from '../random.js';
import { clamp, createForwardClock, createStamp, DAY, round, type Profile, type ProfileOptions } from './common.js';

/**
 * A manual call point's quiet life: nobody presses it, so each report is a heartbeat saying
 * `alarm: false` with its battery (a lithium cell lasting years). A press is a scenario
 * (`call-point`), never noise.
 */
export function createManualCallPointProfile(device: Device, rng: Rng, start: number, _options: ProfileOptions = {}): Profile {
  const noise = rng.fork('noise');
  const clock = createForwardClock(start);
  const stamp = createStamp();
  const battery0 = noise.uniform(70, 100);
  const drainPerDay = noise.uniform(0.005, 0.02);
  return {
    device,
    kind: 'manual_call_point',
    next(at) {
      const { now } = clock(at);
      return stamp(now, { alarm: false, battery: round(clamp(battery0 - ((now - start) / DAY) * drainPerDay, 0, 100), 0) });
    },
  };
}
