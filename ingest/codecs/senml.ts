import { kinds, type FieldSpec } from '../../core/index.js';
import type { Codec, DecodeContext, DecodeResult } from './contract.js';
import { describeType, isFiniteNumber, isRecord, parseJson, refuse } from './contract.js';
import { fieldAliases, fieldUnits, senmlUnits } from './senml-units.js';

/**
 * SenML JSON (RFC 8428): a pack is an array of records; base fields (`bn`, `bt`, `bu`, `bv`, `bs`,
 * `bver`) apply to their record and every later one until replaced (§4.5). One pack becomes one
 * Anju reading, so every record must resolve to the same instant.
 *
 * Which field a record feeds: the part of its resolved name (bn + n) after the last `:` or `/`
 * (`urn:dev:ow:10e2073a01080063:temperature` → temperature), when it names a field of the device's
 * kind. A pack of one record whose name is only the device (RFC 8428 §5.1.1) is placed by its unit
 * when exactly one field of the kind takes that unit. Records for quantities the kind does not have
 * (`%RH` on a smoke detector) are skipped, as the JSON codec drops unknown keys; a unit that is not
 * SenML's, or does not fit the field, is refused. A record without a unit that names an Anju field
 * is in that field's Anju unit (DESIGN.md §3) — the only way to send obscuration, which has no SenML unit.
 */

/** §4.5.1: the resolved name's character set. */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9:./_-]*$/;
/** §4.5.3: times below 2**28 are relative to now. */
const RELATIVE_LIMIT = 2 ** 28;
/** §4.4: the version this codec implements. */
const SENML_VERSION = 10;
const knownLabels = new Set(['bn', 'bt', 'bu', 'bv', 'bs', 'bver', 'n', 'u', 'v', 'vs', 'vb', 'vd', 's', 't', 'ut']);

interface Base { bn: string; bt: number; bu?: string; bv: number; bs: number }

export const senmlCodec: Codec = {
  name: 'senml',
  decode(payload, context) {
    const parsed = parseJson(payload);
    if (!parsed.ok) return parsed;
    return decodeSenmlPack(parsed.value, context);
  },
};

/** Decodes an already parsed SenML pack (also used for arrays on Anju's own telemetry topic). */
export function decodeSenmlPack(pack: unknown, context: DecodeContext): DecodeResult {
  if (!Array.isArray(pack)) return refuse(`a SenML pack is a JSON array of records (RFC 8428 §5), got ${describeType(pack)}`);
  if (pack.length === 0) return refuse('the SenML pack is empty');
  const kind = kinds[context.kind];
  const base: Base = { bn: '', bt: 0, bv: 0, bs: 0 };
  const out: Record<string, number | boolean> = {};
  let instant: number | undefined;
  let explicitTime = false;

  for (const [i, record] of pack.entries()) {
    const at = `record ${i}`;
    if (!isRecord(record)) return refuse(`${at}: a SenML record is a JSON object, got ${describeType(record)}`);
    // §4.4: a label ending in `_` must be understood (we understand none); other unknown labels are ignored.
    const mustUnderstand = Object.keys(record).find((label) => label.endsWith('_') && !knownLabels.has(label));
    if (mustUnderstand) return refuse(`${at}: carries the must-understand field ${mustUnderstand}, which this receiver does not implement (RFC 8428 §4.4)`);
    const bad = checkTypes(record);
    if (bad) return refuse(`${at}: ${bad}`);
    if (record.bver !== undefined && (record.bver as number) > SENML_VERSION) {
      return refuse(`${at}: SenML version ${String(record.bver)} is newer than the version ${SENML_VERSION} this receiver implements (RFC 8428 §4.4)`);
    }
    if (record.bn !== undefined) base.bn = record.bn as string;
    if (record.bt !== undefined) base.bt = record.bt as number;
    if (record.bu !== undefined) base.bu = record.bu as string;
    if (record.bv !== undefined) base.bv = record.bv as number;
    if (record.bs !== undefined) base.bs = record.bs as number;

    const values = (['v', 'vs', 'vb', 'vd'] as const).filter((k) => record[k] !== undefined);
    if (values.length > 1) return refuse(`${at}: has ${values.join(' and ')}; a record carries one value (RFC 8428 §4.2)`);
    const hasSum = record.s !== undefined;
    // A record with only base fields is allowed (it sets bases for the records after it).
    if (values.length === 0 && !hasSum) {
      if (record.n === undefined && record.u === undefined) continue;
      return refuse(`${at}: has neither a value nor a sum (RFC 8428 §4.3)`);
    }

    const name = base.bn + ((record.n as string | undefined) ?? '');
    if (!namePattern.test(name)) return refuse(`${at}: resolved name ${JSON.stringify(name)} is empty or has characters RFC 8428 §4.5.1 does not allow`);
    const unit = (record.u as string | undefined) ?? base.bu;
    if (unit !== undefined && !senmlUnits.has(unit)) return refuse(`${at}: unit ${JSON.stringify(unit)} is not a SenML unit (RFC 8428 §12.1, RFC 8798); refused rather than guessed`);

    const key = name.split(/[:/]/).pop() ?? '';
    let field = key in kind.fields ? key : fieldAliases[key];
    if (field !== undefined && !(field in kind.fields)) field = undefined;
    const byName = field !== undefined;
    if (!field && unit !== undefined && (record.n === undefined || pack.length === 1)) {
      const candidates = Object.keys(kind.fields).filter((f) => fieldUnits[f]?.[unit] !== undefined);
      if (candidates.length === 1) field = candidates[0];
    }
    if (!field) continue; // a quantity this kind does not record
    if (field in out) return refuse(`${at}: a second record for ${field}; one pack is one reading at one instant`);
    const spec = kind.fields[field] as FieldSpec;

    const time = base.bt + ((record.t as number | undefined) ?? 0);
    const ts = time === 0 ? undefined : Math.round(time < RELATIVE_LIMIT ? context.receivedAt + time * 1_000 : time * 1_000);
    if (ts !== undefined && !Number.isSafeInteger(ts)) return refuse(`${at}: time ${time} is not a usable instant`);
    const effective = ts ?? context.receivedAt;
    if (instant !== undefined && effective !== instant) return refuse(`${at}: records at different times; send one pack per instant (Anju stores one reading per message)`);
    instant = effective;
    if (ts !== undefined) explicitTime = true;

    if (spec.type === 'bool') {
      if (record.vb === undefined) return refuse(`${at}: ${field} is a boolean, send it as vb`);
      out[field] = record.vb as boolean;
      continue;
    }
    if (record.vs !== undefined || record.vb !== undefined || record.vd !== undefined) {
      return refuse(`${at}: ${field} is a number (${spec.unit ?? 'no unit'}), send it as v`);
    }
    let raw: number;
    if (record.v !== undefined) raw = base.bv + (record.v as number);
    else if (kind.cumulative.includes(field)) raw = base.bs + (record.s as number); // §4.2: a register is a sum
    else return refuse(`${at}: ${field} is not a cumulative register; send it as v, not as a sum`);
    let value = raw;
    if (unit !== undefined) {
      const convert = fieldUnits[field]?.[unit];
      if (!convert) {
        const accepted = Object.keys(fieldUnits[field] ?? {});
        return refuse(`${at}: ${field} (${spec.unit ?? ''}) cannot be given in ${unit}; use ${accepted.length ? accepted.join(', ') : 'no unit (Anju\'s ' + (spec.unit ?? '') + ')'}`);
      }
      value = convert(raw);
    } else if (!byName) {
      return refuse(`${at}: a record without a unit must name an Anju field`);
    }
    if (!Number.isFinite(value)) return refuse(`${at}: ${field} is not a finite number`);
    // Conversions like Wh → kWh yield binary fractions (0.1 + 0.2); 12 significant digits is far below any sensor's resolution.
    out[field] = Number(value.toPrecision(12));
  }
  if (Object.keys(out).length === 0) {
    return refuse(`no record of the pack names a field of ${context.kind} (${Object.keys(kind.fields).join(', ')}) or carries a unit only one of them takes`);
  }
  if (instant !== undefined && explicitTime) out.ts = instant;
  return { ok: true, value: out };
}

/** RFC 8428 §6 (JSON representation): each label's JSON type. */
function checkTypes(r: Record<string, unknown>): string | undefined {
  const strings = ['bn', 'bu', 'n', 'u', 'vs', 'vd'];
  const numbers = ['bt', 'bv', 'bs', 'bver', 'v', 's', 't', 'ut'];
  for (const k of strings) if (r[k] !== undefined && typeof r[k] !== 'string') return `${k} must be a string, got ${describeType(r[k])}`;
  for (const k of numbers) if (r[k] !== undefined && !isFiniteNumber(r[k])) return `${k} must be a number, got ${describeType(r[k])}`;
  if (r.vb !== undefined && typeof r.vb !== 'boolean') return `vb must be true or false, got ${describeType(r.vb)}`;
  return undefined;
}
