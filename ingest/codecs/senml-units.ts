/**
 * SenML units (RFC 8428 §12.1, and the secondary units of RFC 8798 §3) and how each Anju field
 * accepts them. Every conversion is written out: a unit that is not listed for a field is refused,
 * never guessed. SenML is SI-only by design (RFC 8428 §12.1: "no Fahrenheit"), so °F never appears.
 */
type Convert = (x: number) => number;
const same: Convert = (x) => x;

/** RFC 8428 §12.1 (IANA "SenML Units") plus RFC 8798 secondary units. */
export const senmlUnits: ReadonlySet<string> = new Set([
  // RFC 8428 §12.1
  'm', 'kg', 'g', 's', 'A', 'K', 'cd', 'mol', 'Hz', 'rad', 'sr', 'N', 'Pa', 'J', 'W', 'C', 'V', 'F', 'Ohm', 'S', 'Wb',
  'T', 'H', 'Cel', 'lm', 'lx', 'Bq', 'Gy', 'Sv', 'kat', 'm2', 'm3', 'l', 'm/s', 'm/s2', 'm3/s', 'l/s', 'W/m2', 'cd/m2',
  'bit', 'bit/s', 'lat', 'lon', 'pH', 'dB', 'dBW', 'Bspl', 'count', '/', '%', '%RH', '%EL', 'EL', '1/s', '1/min',
  'beat/min', 'beats', 'S/m',
  // RFC 8798 §3 (secondary units)
  'ms', 'min', 'h', 'MHz', 'kW', 'kVA', 'kvar', 'Ah', 'Wh', 'kWh', 'varh', 'kvarh', 'kVAh', 'VAh', 'VA', 'var', 'mV',
  'mA', 'dBm', 'ug/m3', 'mm/h', 'm/h', 'ppm', '/100', '/1000', 'hPa', 'mm', 'cm', 'km', 'km/h',
]);

const temperature: Record<string, Convert> = { Cel: same, K: (x) => x - 273.15 };

/** Anju field → SenML unit → conversion into the field's unit (core/kinds). */
export const fieldUnits: Readonly<Record<string, Readonly<Record<string, Convert>>>> = {
  temperature,
  cable_temperature: temperature,
  // kWh register: RFC 8798 Wh/kWh, or RFC 8428 J (1 kWh = 3.6 MJ).
  energy: { kWh: same, Wh: (x) => x / 1_000, J: (x) => x / 3.6e6 },
  power: { W: same, kW: (x) => x * 1_000 },
  voltage: { V: same, mV: (x) => x / 1_000 },
  current: { A: same, mA: (x) => x / 1_000 },
  residual_current: { mA: same, A: (x) => x * 1_000 },
  // m³ register; RFC 8428 `l` is NOT RECOMMENDED but registered: 1 m³ = 1000 l.
  volume: { m3: same, l: (x) => x / 1_000 },
  // Anju flow is L/min: l/s × 60, m3/s × 60 000.
  flow: { 'l/s': (x) => x * 60, 'm3/s': (x) => x * 60_000 },
  // RFC 8428: %EL is "remaining battery energy level in percents".
  battery: { '%EL': same, '%': same },
  // Fill level: `%`, or `/` (a ratio 0..1) × 100.
  fill: { '%': same, '/': (x) => x * 100 },
  co: { ppm: same, '/': (x) => x * 1e6 },
  weight: { kg: same, g: (x) => x / 1_000 },
  // smoke (dB/m obscuration) has no SenML unit: only a unitless record named `smoke` carries it.
};

/** Short names devices commonly use for a field (RFC 8428 §5 examples use `temp`). */
export const fieldAliases: Readonly<Record<string, string>> = { temp: 'temperature' };
