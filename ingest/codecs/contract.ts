import { isUtf8 } from 'node:buffer';
import type { KindName } from '../../core/index.js';

/**
 * A codec turns a payload's bytes into a JSON-like value in Anju's reading shape
 * (`{ts?, seq?, <field>: value}`), or says precisely why it cannot. Codecs never throw.
 * One codec per file, registered by name in ./index.ts; a topic mapping (../topic-map.ts) names
 * the codec a topic's messages use.
 */
export type DecodeResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'malformed_json' | 'schema_violation'; readonly detail: string };

/**
 * What the pipeline knows before decoding. Foreign formats name quantities, not Anju fields
 * (SenML `Cel`, Zigbee2MQTT `temperature`), so the device's registered kind decides which field a
 * value becomes; `receivedAt` anchors relative times (RFC 8428 §4.5.3).
 */
export interface DecodeContext {
  readonly device: string;
  readonly kind: KindName;
  /** Receive time, epoch ms. */
  readonly receivedAt: number;
}

export interface Codec {
  readonly name: string;
  decode(payload: Buffer, context: DecodeContext): DecodeResult;
}

/** Shared helpers for codecs. */
export const refuse = (detail: string): DecodeResult => ({ ok: false, reason: 'schema_violation', detail });

/** Strict UTF-8 JSON parse: invalid UTF-8 is malformed, not silently replaced with U+FFFD. */
export function parseJson(payload: Buffer): { ok: true; value: unknown } | { ok: false; reason: 'malformed_json'; detail: string } {
  // isUtf8 is one native pass; a decoder object per message was a measurable share of ingest.
  if (!isUtf8(payload)) return { ok: false, reason: 'malformed_json', detail: 'not valid UTF-8 JSON: the payload is not well-formed UTF-8' };
  try {
    // A leading byte order mark is dropped, as TextDecoder does (and RFC 8259 §8.1 lets a parser).
    const bom = payload.length >= 3 && payload[0] === 0xef && payload[1] === 0xbb && payload[2] === 0xbf ? 3 : 0;
    return { ok: true, value: JSON.parse(payload.toString('utf8', bom)) as unknown };
  } catch (err) {
    return { ok: false, reason: 'malformed_json', detail: `not valid UTF-8 JSON: ${(err as Error).message}` };
  }
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value.slice(0, 40))}` : typeof value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A finite JSON number (JSON has no NaN/Infinity, but a number may overflow to Infinity: 1e999). */
export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
