import { z } from 'zod';
import { kindNames, kindOf } from '../../core/index.js';
import type { Rule } from '../contracts.js';
import { enabled, positive, severitySchema } from './common.js';

/**
 * Offline: no message within 3× the kind's reporting interval, or the device's LWT / status
 * `offline` → major for smoke detectors (a silent fire detector leaves a home unprotected; a fire
 * alarm control unit shows a lost detector as a fault, GB 4717-2005), minor otherwise. Clears on any message or
 * `online`. Three intervals tolerate two lost reports (QoS 0, a busy radio) before calling it.
 * A device that never reported is timed from when the engine first saw it in the registry.
 */
const params = z.object({ ...enabled, intervals: positive, severity: severitySchema });
type Params = z.infer<typeof params>;
interface State { on: boolean; lastSeen?: number; knownSince?: number }

export const offlineRule: Rule<Params, State> = {
  name: 'offline',
  description: 'Device silent for several reporting intervals, or disconnected (LWT)',
  alarmTypes: ['offline'],
  kinds: kindNames,
  params,
  defaults: { enabled: true, intervals: 3, severity: 'minor' },
  kindDefaults: { smoke_detector: { severity: 'major' } },
  initialState: () => ({ on: false }),
  onReading(ctx) {
    const s = ctx.state;
    if (s.lastSeen === undefined || ctx.now > s.lastSeen) s.lastSeen = ctx.now;
    if (s.on) {
      s.on = false;
      ctx.clear({ type: 'offline', details: { reason: 'message' } });
    }
  },
  onPresence(ctx, status) {
    const s = ctx.state;
    if (status === 'online') {
      if (s.on) {
        s.on = false;
        ctx.clear({ type: 'offline', details: { reason: 'online' } });
      }
      return;
    }
    if (!s.on) {
      s.on = true;
      ctx.raise({ type: 'offline', severity: ctx.params.severity, details: { reason: 'lwt', lastSeenTs: s.lastSeen ?? null } });
    }
  },
  onTick(ctx) {
    const s = ctx.state;
    s.knownSince ??= ctx.now;
    if (s.on) return;
    const limitMs = ctx.params.intervals * kindOf(ctx.device.kind).reportingIntervalS * 1000;
    const since = s.lastSeen ?? s.knownSince;
    if (ctx.now - since > limitMs) {
      s.on = true;
      ctx.raise({ type: 'offline', severity: ctx.params.severity, details: { reason: 'silent', lastSeenTs: s.lastSeen ?? null, limitS: limitMs / 1000 } });
    }
  },
};
