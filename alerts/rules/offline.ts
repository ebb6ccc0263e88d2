import { z } from 'zod';
import { kindNames } from '../../core/index.js';
import type { Rule } from '../contracts.js';
import { enabled, positive, severitySchema } from './common.js';
import { reportIntervalMs } from './windows.js';

/**
 * Offline → major for smoke detectors and manual call points (a silent fire device leaves a home
 * unprotected; a fire alarm control unit shows a lost device as a fault, GB 4717-2005), minor
 * otherwise. Two ways to be offline, by the device's connection mode (registry `connection`):
 * - **silent**, every device: no message within `intervals` × its reporting interval (the
 *   registry's `report_interval_s`, else its kind's: an NB-IoT detector reporting every 4 h is
 *   offline after 12 h, a power meter reporting every minute after 3 min). Three intervals
 *   tolerate two lost reports (QoS 0, a busy radio) before calling it.
 * - **connection lost**, `persistent` devices (the default): the broker saw the connection end
 *   without a DISCONNECT — its Will (`lost`) or a keep-alive timeout (MQTT 3.1.1 §3.1.2.10).
 *   A clean DISCONNECT is a device leaving on purpose (a restart, a firmware update): no alarm,
 *   and the silence rule still catches one that does not come back. `periodic` devices connect
 *   to report and disconnect, cleanly or not: only a missed report makes them offline.
 * Liveness is the server's receive time, never the device's `ts`: a detector whose clock runs
 * 20 min slow is as alive as any other. Clears on any message or a new connection. A device
 * that never reported is timed from when the engine first saw it in the registry.
 */
const params = z.object({ ...enabled, intervals: positive, severity: severitySchema });
type Params = z.infer<typeof params>;
interface State { on: boolean; lastSeen?: number; knownSince?: number }

export const offlineRule: Rule<Params, State> = {
  name: 'offline',
  description: 'Device silent for several reporting intervals, or a persistent connection lost without DISCONNECT',
  alarmTypes: ['offline'],
  kinds: kindNames,
  params,
  defaults: { enabled: true, intervals: 3, severity: 'minor' },
  kindDefaults: { smoke_detector: { severity: 'major' }, manual_call_point: { severity: 'major' } },
  initialState: () => ({ on: false }),
  onReading(ctx, r) {
    const s = ctx.state;
    const seen = r.receivedAt ?? ctx.now;
    if (s.lastSeen === undefined || seen > s.lastSeen) s.lastSeen = seen;
    if (s.on) {
      s.on = false;
      ctx.clear({ type: 'offline', details: { reason: 'message' } });
    }
  },
  onPresence(ctx, status, cause) {
    const s = ctx.state;
    if (status === 'online') {
      // Connecting is a sign of life (a periodic device is about to report).
      if (s.lastSeen === undefined || ctx.now > s.lastSeen) s.lastSeen = ctx.now;
      if (s.on) {
        s.on = false;
        ctx.clear({ type: 'offline', details: { reason: 'online' } });
      }
      return;
    }
    const connection = ctx.device.connection ?? 'persistent';
    if (connection === 'periodic' || cause === 'clean' || cause === 'connected' || s.on) return;
    s.on = true;
    ctx.raise({ type: 'offline', severity: ctx.params.severity, details: { reason: cause, connection, lastSeenTs: s.lastSeen ?? null } });
  },
  onTick(ctx) {
    const s = ctx.state;
    s.knownSince ??= ctx.now;
    if (s.on) return;
    const limitMs = ctx.params.intervals * reportIntervalMs(ctx.device);
    const since = s.lastSeen ?? s.knownSince;
    if (ctx.now - since > limitMs) {
      s.on = true;
      ctx.raise({
        type: 'offline', severity: ctx.params.severity,
        details: { reason: 'silent', connection: ctx.device.connection ?? 'persistent', lastSeenTs: s.lastSeen ?? null, limitS: limitMs / 1000 },
      });
    }
  },
};
