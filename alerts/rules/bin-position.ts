import { z } from 'zod';
import type { Rule } from '../contracts.js';
import { enabled, flag, held, nonNegative, type HoldState } from './common.js';

/**
 * Bin knocked over (`tilt`) → minor at once; lid left open (`lid_open`) for ≥ 5 min → minor.
 * Each clears when the switch reports normal again.
 *
 * Operations settings: every bag opens the lid for 10–30 s, so only a lid still open on two
 * reports five minutes apart is "left open" (odour, flies, rain in the bin).
 */
const params = z.object({ ...enabled, lidOpenS: nonNegative });
type Params = z.infer<typeof params>;
interface State { tilt: boolean; lid: boolean; lidHold: HoldState }

export const binPositionRule: Rule<Params, State> = {
  name: 'bin_position',
  description: 'Bin tilted over or lid left open',
  alarmTypes: ['bin_tilt', 'bin_lid_open'],
  kinds: ['smart_bin'],
  params,
  defaults: { enabled: true, lidOpenS: 300 },
  initialState: () => ({ tilt: false, lid: false, lidHold: {} }),
  onReading(ctx, r) {
    const s = ctx.state;
    const tilt = flag(r, 'tilt');
    if (tilt === true) {
      s.tilt = true;
      ctx.raise({ type: 'bin_tilt', severity: 'minor', details: { tilt } });
    } else if (tilt === false && s.tilt) {
      s.tilt = false;
      ctx.clear({ type: 'bin_tilt', details: { tilt } });
    }
    const lid = flag(r, 'lid_open');
    if (lid === undefined) return;
    if (held(s.lidHold, lid, ctx.now, ctx.params.lidOpenS * 1000)) {
      s.lid = true;
      ctx.raise({ type: 'bin_lid_open', severity: 'minor', details: { lid_open: true, sinceTs: s.lidHold.since } });
    } else if (!lid && s.lid) {
      s.lid = false;
      ctx.clear({ type: 'bin_lid_open', details: { lid_open: false } });
    }
  },
};
