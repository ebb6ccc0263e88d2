import type { Codec, DecodeResult } from './contract.js';
import { describeType, isFiniteNumber, isRecord, parseJson, refuse } from './contract.js';

/**
 * Tasmota energy telemetry: `tele/<topic>/SENSOR` every TelePeriod, with an `ENERGY` object
 * (tasmota.github.io/docs/Power-Monitoring-Calibration, "ENERGY" in the JSON): `Total` kWh since
 * TotalStartTime (a register), `Power` W, `Voltage` V, `Current` A. Today/Yesterday/Period are
 * derived from Total and not stored; ApparentPower/ReactivePower/Factor have no Anju field.
 *
 * Time: Tasmota's `Time` is the device's local wall clock without a zone (its Timezone/TimeStd/
 * TimeDst settings), so it is used only when it carries an offset (SetOption52 1 appends one) or
 * when the zone is configured; otherwise the reading takes the receive time, which is within
 * network latency of the TelePeriod — better than an instant that may be hours off.
 */
export interface TasmotaOptions {
  /** IANA zone the devices' clocks are set to (e.g. `Asia/Shanghai`), to place an unzoned `Time`. */
  readonly timeZone?: string;
}

const timePattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export function createTasmotaCodec(options: TasmotaOptions = {}): Codec {
  const format = options.timeZone
    ? new Intl.DateTimeFormat('en-US', { timeZone: options.timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : undefined;

  /** How far the configured zone is ahead of UTC at `epoch` (ms). */
  const offsetAt = (epoch: number): number => {
    const parts = Object.fromEntries((format as Intl.DateTimeFormat).formatToParts(new Date(epoch)).map((p) => [p.type, Number(p.value)]));
    const wall = Date.UTC(parts.year ?? 0, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0);
    return wall - Math.floor(epoch / 1_000) * 1_000;
  };

  function timeOf(value: unknown): { ts?: number; error?: string } {
    if (value === undefined) return {};
    const m = typeof value === 'string' ? timePattern.exec(value) : null;
    if (!m) return format || typeof value === 'string' ? { error: `Tasmota Time must look like 2026-11-25T10:00:00, got ${describeType(value)}` } : {};
    const [, y, mo, d, h, mi, s, zone] = m;
    if (zone) {
      const ts = Date.parse(value as string);
      return Number.isNaN(ts) ? { error: `Tasmota Time ${String(value)} is not a valid instant` } : { ts };
    }
    if (!format) return {}; // unzoned and no zone configured: receive time (see above)
    const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
    if (Number.isNaN(wall)) return { error: `Tasmota Time ${String(value)} is not a valid date` };
    // Two passes settle the offset on either side of a DST change.
    const first = wall - offsetAt(wall);
    return { ts: wall - offsetAt(first) };
  }

  return {
    name: 'tasmota',
    decode(payload, context): DecodeResult {
      const parsed = parseJson(payload);
      if (!parsed.ok) return parsed;
      const msg = parsed.value;
      if (!isRecord(msg)) return refuse(`a Tasmota SENSOR message is one JSON object, got ${describeType(msg)}`);
      if (context.kind !== 'power_meter') {
        return refuse(`Tasmota ENERGY readings are power_meter readings, but ${context.device} is registered as ${context.kind}`);
      }
      const energy = msg.ENERGY;
      if (energy === undefined) {
        return refuse(`no ENERGY object: this SENSOR message (${Object.keys(msg).join(', ') || 'empty'}) is not from a power-monitoring Tasmota`);
      }
      if (!isRecord(energy)) return refuse(`ENERGY must be an object, got ${describeType(energy)}`);
      const out: Record<string, number> = {};
      const fields = [['Total', 'energy', 'kWh'], ['Power', 'power', 'W'], ['Voltage', 'voltage', 'V'], ['Current', 'current', 'A']] as const;
      for (const [key, field, unit] of fields) {
        const value = energy[key];
        if (value === undefined) continue;
        // Multi-channel devices (Shelly 2.5, PZEM on several phases) publish arrays: one Anju device is one channel.
        if (Array.isArray(value)) return refuse(`ENERGY.${key} is an array (a multi-channel device); Anju maps one Tasmota to one meter channel`);
        if (!isFiniteNumber(value)) return refuse(`ENERGY.${key} must be a number (${unit}), got ${describeType(value)}`);
        out[field] = value;
      }
      if (out.energy === undefined) return refuse('ENERGY has no Total (kWh): the power_meter register cannot be read from this message');
      if (out.energy < 0) return refuse(`ENERGY.Total is ${out.energy} kWh: a cumulative register is never negative`);
      const time = timeOf(msg.Time);
      if (time.error) return refuse(time.error);
      return { ok: true, value: time.ts !== undefined ? { ts: time.ts, ...out } : out };
    },
  };
}

/** The registered instance: unzoned Time ignored. */
export const tasmotaCodec: Codec = createTasmotaCodec();
