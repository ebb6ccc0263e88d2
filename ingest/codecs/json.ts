import type { Codec, DecodeResult } from './contract.js';
import { describeType, isRecord, parseJson, refuse } from './contract.js';
import { decodeSenmlPack } from './senml.js';

/**
 * Anju's own format: one JSON object per message (DESIGN.md §3). The same topic may carry a SenML
 * pack instead (DESIGN.md §3: "one JSON reading, or SenML (RFC 8428)"); a pack is a JSON array
 * (RFC 8428 §5), which a reading never is, so the first value's type decides unambiguously.
 */
export const jsonCodec: Codec = {
  name: 'json',
  decode(payload, context): DecodeResult {
    const parsed = parseJson(payload);
    if (!parsed.ok) return parsed;
    const value = parsed.value;
    if (Array.isArray(value)) return decodeSenmlPack(value, context);
    if (!isRecord(value)) return refuse(`expected one JSON object per message (or a SenML array), got ${describeType(value)}`);
    return { ok: true, value };
  },
};
