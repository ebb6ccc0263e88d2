import { z } from 'zod';
import { describeCodes, type StateCodes } from './codes.js';

/**
 * How one reading field is described: its type, unit and plausible physical range.
 * The range is a sanity bound (a sensor cannot report it), not an alarm threshold —
 * thresholds live in alerts/ and cite their standards.
 */
export interface FieldSpec {
  readonly type: 'float' | 'bool';
  readonly unit?: string;
  readonly description: string;
  readonly min?: number;
  readonly max?: number;
  /**
   * A state field (`type: 'float'`, stored as a number): only these integers are valid, each
   * naming a state (core/kinds/codes.ts). No unit, no min/max; averaging it means nothing, so
   * aggregated reads answer `mean` and `sum` with the bucket's last state (storage/series-query.ts).
   */
  readonly codes?: StateCodes;
}

export type FieldValue = number | boolean;

export interface KindSpec<Name extends string = string> {
  /** Wire and registry name, also the storage measurement. */
  readonly name: Name;
  readonly label: { readonly en: string; readonly zh: string };
  /** The kind's primary measurement (the field dashboards and reports lead with). */
  readonly mainField: string;
  /**
   * A reading must carry at least one of these fields; default: just the main field. A smoke alarm
   * that only reports its alarm state (most Zigbee and NB-IoT units) still tells the truth.
   */
  readonly requiredOneOf?: readonly string[];
  /** Fields stored for this kind (storage column / InfluxDB field names), including `battery`. */
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** Fields that are cumulative registers: they only ever increase (resets are flagged by reports). */
  readonly cumulative: readonly string[];
  /** Nominal reporting interval in seconds; offline detection uses 3× this. */
  readonly reportingIntervalS: number;
  /** The zod schema a raw JSON payload of this kind must satisfy. */
  readonly payload: z.ZodType<KindPayload>;
  /**
   * The common case of `payload`, decided without zod: the value when `payload` certainly accepts it
   * as it is (numeric `ts` and `seq`, every field of its type and range), else undefined — and then
   * `payload.safeParse` decides, and explains a refusal. Compiled from the same field table as the
   * schema; test/core/kinds-fast-path.test.ts holds it to the schema's verdicts.
   */
  readonly accepts: (value: unknown) => KindPayload | undefined;
}

/** A decoded, validated payload: `ts` normalised to epoch ms when present. */
export interface KindPayload {
  ts?: number;
  seq?: number;
  [field: string]: FieldValue | undefined;
}

/** Battery level in %, common to every battery-powered kind. */
export const batteryField: FieldSpec = { type: 'float', unit: '%', description: 'battery level', min: 0, max: 100 };

/**
 * `ts`: epoch milliseconds or an ISO 8601 string with a zone. Whether the instant is plausible
 * (not 1970, not next year) is ingest's decision, made against the receive time.
 */
export const timestampSchema = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);

/** Per-device message counter, used by ingest to drop duplicates (QoS 1 redeliveries). */
export const seqSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

function fieldSchema(spec: FieldSpec): z.ZodType<FieldValue> {
  if (spec.type === 'bool') return z.boolean();
  if (spec.codes) {
    const allowed = new Set(Object.values(spec.codes));
    const list = describeCodes(spec.codes);
    // A state is one of its codes: 1.5 or 7 names no state and is refused, like a value out of range.
    return z.number().refine((v) => allowed.has(v), { error: (issue) => `${String(issue.input)} is not a state code; use one of ${list}` });
  }
  let n = z.number();
  if (spec.min !== undefined) n = n.min(spec.min);
  if (spec.max !== undefined) n = n.max(spec.max);
  return n;
}

/**
 * Builds a kind from its field table, so that the schema, storage columns and documentation
 * can never disagree. Unknown keys are stripped (a newer firmware adding a field must not lose
 * the reading); a missing main field or a value outside its range is refused.
 */
export function defineKind<Name extends string>(def: Omit<KindSpec<Name>, 'payload' | 'accepts'>): KindSpec<Name> {
  if (!(def.mainField in def.fields)) throw new Error(`kind ${def.name}: main field ${def.mainField} is not among its fields`);
  const required = def.requiredOneOf ?? [def.mainField];
  for (const name of required) if (!(name in def.fields)) throw new Error(`kind ${def.name}: required field ${name} is not among its fields`);
  for (const [name, spec] of Object.entries(def.fields)) {
    if (!spec.codes) continue;
    const values = Object.values(spec.codes);
    if (spec.type !== 'float' || spec.min !== undefined || spec.max !== undefined || values.length === 0
      || values.some((c) => !Number.isSafeInteger(c) || c < 0) || new Set(values).size !== values.length) {
      throw new Error(`kind ${def.name}: field ${name} has codes, so it must be a float without min/max whose codes are distinct non-negative integers`);
    }
  }
  const shape: Record<string, z.ZodType> = { ts: timestampSchema.optional(), seq: seqSchema.optional() };
  for (const [name, spec] of Object.entries(def.fields)) {
    const s = fieldSchema(spec);
    shape[name] = required.length === 1 && name === required[0] ? s : s.optional();
  }
  let object: z.ZodType = z.object(shape);
  if (required.length > 1) {
    object = (object as z.ZodObject).refine((p: Record<string, unknown>) => required.some((f) => p[f] !== undefined), {
      message: `a ${def.name} reading needs at least one of ${required.join(', ')}`,
      path: [def.mainField],
    });
  }
  const payload = object as unknown as z.ZodType<KindPayload>;
  return { ...def, payload, accepts: compileAccepts(def.fields, required) };
}

/** One field's test: its type, its range (inclusive, as `.min`/`.max`) or its codes. */
function fieldTest(spec: FieldSpec): (v: unknown) => boolean {
  if (spec.type === 'bool') return (v) => typeof v === 'boolean';
  if (spec.codes) {
    const allowed = new Set<unknown>(Object.values(spec.codes));
    return (v) => allowed.has(v);
  }
  const min = spec.min ?? -Infinity;
  const max = spec.max ?? Infinity;
  // z.number() refuses NaN and ±Infinity (zod 4); a comparison with NaN is false.
  return (v) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
}

/** `z.number().int().nonnegative()` (zod 4: `.int()` is a safe integer). */
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The fast path of `defineKind`'s schema: the hot path validates every message, and zod's general
 * machinery (a result, a context and a stripped copy per object) was 1.5–2 µs and ~2 KB of garbage
 * per message (bench:ratio --alloc-profile). Anything it is not sure of — an ISO `ts` string to
 * convert, a value out of range, a missing field — goes to zod. Unknown keys are left on the value
 * (the schema strips them): ingest reads only the kind's fields, `ts` and `seq`.
 */
function compileAccepts(fields: Readonly<Record<string, FieldSpec>>, required: readonly string[]): (value: unknown) => KindPayload | undefined {
  const tests = Object.entries(fields).map(([name, spec]) => [name, fieldTest(spec)] as const);
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const p = value as Record<string, unknown>;
    if (p.ts !== undefined && !isCount(p.ts)) return undefined;
    if (p.seq !== undefined && !isCount(p.seq)) return undefined;
    let present = false;
    for (const [name, test] of tests) {
      const v = p[name];
      if (v === undefined) continue;
      if (!test(v)) return undefined;
      if (!present && required.includes(name)) present = true;
    }
    return present ? (p as KindPayload) : undefined;
  };
}
