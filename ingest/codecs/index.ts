import type { Codec } from './contract.js';
import { jsonCodec } from './json.js';
import { senmlCodec } from './senml.js';
import { createTasmotaCodec, type TasmotaOptions } from './tasmota.js';
import { createZigbee2mqttCodec, type Zigbee2mqttOptions } from './zigbee2mqtt.js';

export type { Codec, DecodeContext, DecodeResult } from './contract.js';
export type { TasmotaOptions } from './tasmota.js';
export type { Zigbee2mqttOptions } from './zigbee2mqtt.js';

/** Per-format settings a deployment may need (from core/config). */
export interface CodecOptions {
  readonly tasmota?: TasmotaOptions;
  readonly zigbee2mqtt?: Zigbee2mqttOptions;
}

/** Codec factories by name; a topic mapping names the codec its messages use. */
export const codecFactories = {
  json: () => jsonCodec,
  senml: () => senmlCodec,
  zigbee2mqtt: (o: CodecOptions) => createZigbee2mqttCodec(o.zigbee2mqtt),
  tasmota: (o: CodecOptions) => createTasmotaCodec(o.tasmota),
} as const satisfies Record<string, (options: CodecOptions) => Codec>;

export type CodecName = keyof typeof codecFactories;
export const codecNames = Object.keys(codecFactories) as CodecName[];

export function isCodecName(name: string): name is CodecName {
  return Object.prototype.hasOwnProperty.call(codecFactories, name);
}

/** One instance of every codec, built with the given options. */
export function createCodecs(options: CodecOptions = {}): Readonly<Record<CodecName, Codec>> {
  return Object.fromEntries(codecNames.map((n) => [n, codecFactories[n](options)])) as Record<CodecName, Codec>;
}

/** Codecs with default options (°C from Zigbee2MQTT, unzoned Tasmota time ignored). */
export const codecs: Readonly<Record<CodecName, Codec>> = createCodecs();
