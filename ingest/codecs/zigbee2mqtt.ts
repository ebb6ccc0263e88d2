import { kinds } from '../../core/index.js';
import type { Codec, DecodeResult } from './contract.js';
import { describeType, isFiniteNumber, isRecord, parseJson, refuse } from './contract.js';

/**
 * Zigbee2MQTT device messages: `zigbee2mqtt/<friendly_name>` carries the device's state as one JSON
 * object whose keys are its "exposes" properties (zigbee2mqtt.io/guide/usage/exposes.html). Only
 * the default JSON output is read (`output: json`); attribute output (`zigbee2mqtt/<name>/<attr>`) is not.
 *
 * Each property is mapped to an Anju field explicitly, in the unit Z2M documents for it; a property
 * the device's kind has no field for is skipped (linkquality, battery_low, tamper, humidity, …).
 * Z2M publishes `null` for a state it has not heard yet; that counts as absent.
 */
export interface Zigbee2mqttOptions {
  /**
   * Z2M's `temperature` expose is °C (ZCL Temperature Measurement is in 0.01 °C). Some bridges and
   * converters are configured to publish °F instead; say so here and it is converted, never guessed.
   */
  readonly temperatureUnit?: 'C' | 'F';
}

type Mapping = { readonly field: string; readonly type: 'bool' | 'number'; readonly unit: string; readonly convert?: (x: number) => number };

function mappings(options: Zigbee2mqttOptions): Readonly<Record<string, Mapping>> {
  const fahrenheit = options.temperatureUnit === 'F';
  return {
    // Smoke sensors (e.g. Heiman HS1SA, Aqara JY-GZ-01AQ): `smoke` is the device's own alarm decision.
    smoke: { field: 'alarm', type: 'bool', unit: 'true/false' },
    // Aqara JY-GZ-01AQ: "Value of smoke concentration in dB/m" — the only Z2M expose that is an
    // obscuration. `smoke_density` (a raw 0–10 index without a unit) is deliberately not used.
    smoke_density_dbm: { field: 'smoke', type: 'number', unit: 'dB/m' },
    test: { field: 'test', type: 'bool', unit: 'true/false' },
    co: { field: 'co', type: 'number', unit: 'ppm' },
    temperature: fahrenheit
      ? { field: 'temperature', type: 'number', unit: '°F', convert: (f) => ((f - 32) * 5) / 9 }
      : { field: 'temperature', type: 'number', unit: '°C' },
    battery: { field: 'battery', type: 'number', unit: '%' },
    // Metering plugs (exposes energy kWh, power W, voltage V, current A). On battery devices Z2M's
    // `voltage` is the battery in mV, but those kinds have no voltage field, so it is skipped.
    energy: { field: 'energy', type: 'number', unit: 'kWh' },
    power: { field: 'power', type: 'number', unit: 'W' },
    voltage: { field: 'voltage', type: 'number', unit: 'V' },
    current: { field: 'current', type: 'number', unit: 'A' },
  };
}

/** Properties that carry a fact Anju has no field for yet; named in refusals so nobody wonders where they went. */
const noField: Readonly<Record<string, string>> = {
  water_leak: 'a leak sensor state (no Anju kind has a leak field yet)',
  humidity: 'relative humidity (no Anju kind records humidity)',
  smoke_density: 'a raw smoke index without a unit',
};

export function createZigbee2mqttCodec(options: Zigbee2mqttOptions = {}): Codec {
  const table = mappings(options);
  return {
    name: options.temperatureUnit === 'F' ? 'zigbee2mqtt (°F)' : 'zigbee2mqtt',
    decode(payload, context): DecodeResult {
      const parsed = parseJson(payload);
      if (!parsed.ok) return parsed;
      const msg = parsed.value;
      if (!isRecord(msg)) return refuse(`a Zigbee2MQTT device message is one JSON object, got ${describeType(msg)}`);
      const kind = kinds[context.kind];
      const out: Record<string, number | boolean> = {};
      for (const [property, m] of Object.entries(table)) {
        const value = msg[property];
        if (value === undefined || value === null || !(m.field in kind.fields)) continue;
        if (m.type === 'bool') {
          if (typeof value !== 'boolean') return refuse(`Zigbee2MQTT property ${property} must be true or false, got ${describeType(value)}`);
          out[m.field] = value;
        } else {
          if (!isFiniteNumber(value)) return refuse(`Zigbee2MQTT property ${property} must be a number (${m.unit}), got ${describeType(value)}`);
          out[m.field] = m.convert ? Number(m.convert(value).toFixed(2)) : value;
        }
      }
      // `last_seen` (advanced.last_seen: ISO_8601, ISO_8601_local or epoch) is when Z2M heard the
      // device; closer to the measurement than our receive time. Both ISO forms carry a zone.
      const lastSeen = msg.last_seen;
      if (typeof lastSeen === 'number' || typeof lastSeen === 'string') out.ts = lastSeen as number;
      else if (lastSeen !== undefined && lastSeen !== null) return refuse(`Zigbee2MQTT last_seen must be epoch ms or ISO 8601, got ${describeType(lastSeen)}`);

      const required = kind.requiredOneOf ?? [kind.mainField];
      if (!required.some((f) => f in out)) return refuse(missingMain(context.kind, kind.mainField, msg, table));
      return { ok: true, value: out };
    },
  };
}

function missingMain(kindName: string, mainField: string, msg: Record<string, unknown>, table: Readonly<Record<string, Mapping>>): string {
  const source = Object.entries(table).filter(([, m]) => m.field === mainField).map(([p, m]) => `${p} (${m.unit})`);
  const present = Object.keys(msg).filter((k) => msg[k] !== null);
  const unmapped = present.filter((k) => k in noField).map((k) => `${k} is ${noField[k]}`);
  const base = `Zigbee2MQTT message has no ${source.length ? source.join(' or ') : 'property'} for ${kindName}'s required ${mainField}`;
  return `${base}; it carries ${present.join(', ') || 'nothing'}${unmapped.length ? ` (${unmapped.join('; ')})` : ''}`;
}

/** The registered instance: °C, Z2M's default. */
export const zigbee2mqttCodec: Codec = createZigbee2mqttCodec();
