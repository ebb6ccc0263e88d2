/**
 * Discrete state codes of reading fields: what a device reports about what it controls, as a small
 * integer on the wire (and in storage) with a name per value. The kind files declare their coded
 * fields with these tables (FieldSpec `codes`), the payload schema accepts only these integers, and
 * the names are what labels (core/labels.ts) translate. A plain module without zod: the browser
 * bundle imports it too.
 *
 * Integers rather than the names on the wire because meters speak in status bits: a gateway maps a
 * status word to a code without string handling, and InfluxDB and the embedded store keep one
 * numeric column per field. Codes are never renumbered; a new state takes the next free integer.
 */

/**
 * `valve` of a valve-controlled water meter (阀控水表). Source: CJ/T 188-2018 (户用计量仪表数据传输技术条件)
 * status word ST, bits D0–D1 — valve open / closed / abnormal (fault). The bit values there are
 * quoted from memory of the standard and must be checked against the meter vendor's protocol
 * document before a gateway maps them; the integers below are Anju's own mapping, not the
 * standard's bit patterns. `moving` (the motorised ball valve travelling, 5–20 s) is Anju's own
 * state: CJ/T 188 has no code for it.
 */
export const valveCodes = { open: 0, closed: 1, moving: 2, fault: 3 } as const;
export type ValveState = keyof typeof valveCodes;

/**
 * `switch` of a power meter with a motorised breaker or relay (智慧用电): `on` = circuit closed,
 * power flows; `off` = opened (by a command or by hand); `tripped` = opened by the device's own
 * protection (overcurrent, residual current) and waiting for a reset. Source: DL/T 645-2007
 * meter run-status word 3 (电表运行状态字3), relay-state bit (继电器状态: 0 通 on, 1 断 off), quoted
 * from memory of the standard — check the bit against the meter vendor's protocol document. That
 * bit knows on and off only; `tripped`, and the integers below, are Anju's own mapping.
 */
export const switchCodes = { on: 0, off: 1, tripped: 2 } as const;
export type SwitchState = keyof typeof switchCodes;

/** A coded field's table: state name → integer code. */
export type StateCodes = Readonly<Record<string, number>>;

/**
 * Every coded field, by kind and field name: the kind files take their `codes` from here, and the
 * control room reads it without loading the kinds' zod schemas (test/core checks the two agree).
 */
export const codedFields: Readonly<Record<string, Readonly<Record<string, StateCodes>>>> = {
  water_meter: { valve: valveCodes },
  power_meter: { switch: switchCodes },
};

/** The codes of `kind`'s field `field`, or undefined when it is not a coded field. */
export function fieldCodes(kind: string, field: string): StateCodes | undefined {
  const byField = Object.hasOwn(codedFields, kind) ? codedFields[kind] : undefined;
  return byField && Object.hasOwn(byField, field) ? byField[field] : undefined;
}

/** The state name of `code`, or undefined when `code` is not one of `codes` (1.5, 7). */
export function stateOfCode(codes: StateCodes, code: number): string | undefined {
  for (const [name, c] of Object.entries(codes)) if (c === code) return name;
  return undefined;
}

/** `0 open, 1 closed, 2 moving, 3 fault`: the codes by value, for messages and documentation. */
export function describeCodes(codes: StateCodes): string {
  return Object.entries(codes).sort((a, b) => a[1] - b[1]).map(([name, c]) => `${c} ${name}`).join(', ');
}
