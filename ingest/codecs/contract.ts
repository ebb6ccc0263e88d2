/**
 * A codec turns a payload's bytes into a JSON-like value in Anju's reading shape
 * (`{ts?, seq?, <field>: value}`), or says precisely why it cannot. Codecs never throw.
 * One codec per file, registered by name in ./index.ts (SenML, Zigbee2MQTT and Tasmota come later).
 */
export type DecodeResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'malformed_json' | 'schema_violation'; readonly detail: string };

export interface Codec {
  readonly name: string;
  decode(payload: Buffer): DecodeResult;
}
