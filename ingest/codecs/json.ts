import type { Codec, DecodeResult } from './contract.js';

/** Anju's own format: one JSON object per message (DESIGN.md §3). */
export const jsonCodec: Codec = {
  name: 'json',
  decode(payload: Buffer): DecodeResult {
    let value: unknown;
    try {
      // fatal: invalid UTF-8 is malformed, not silently replaced with U+FFFD.
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    } catch (err) {
      return { ok: false, reason: 'malformed_json', detail: `not valid UTF-8 JSON: ${(err as Error).message}` };
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
      return { ok: false, reason: 'schema_violation', detail: `expected one JSON object per message, got ${got}` };
    }
    return { ok: true, value };
  },
};
