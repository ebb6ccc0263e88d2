import type { Codec } from './contract.js';
import { jsonCodec } from './json.js';

export type { Codec, DecodeResult } from './contract.js';

/** Codecs by name; a source's topic mapping names the codec its messages use. */
export const codecs: Readonly<Record<string, Codec>> = {
  json: jsonCodec,
};
