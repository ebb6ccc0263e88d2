import { escape } from '@influxdata/influxdb-client';
import { isKindName, type KindName, type Reading } from '../../core/index.js';
import { InvalidBatchError } from '../contract.js';
import { kindFields } from './influxql.js';

/**
 * Readings → InfluxDB line protocol, with the schema of DESIGN.md §3: measurement = kind; tags
 * `site`, `building`, `device` (+ `category` for bins); the reading's fields as fields; `seq` as an
 * integer field (kept for dedupe forensics: which message counter produced a point; the reader
 * returns it on `latest`, never as a series value); timestamp in ms (the write uses precision=ms).
 *
 * Escaping is the client's `escape` (line protocol reference: commas, spaces and `=` in tag keys and
 * values, commas and spaces in measurement names; no string fields are written). Floats are written
 * as `String(n)` without the `i` suffix, as `Point.floatField` does, so 23 is the float `23`:
 * line protocol reads an unsuffixed number as a float, and a field's type is fixed per shard by its
 * first write, so an integer `23i` would make every later `23.5` a "field type conflict" (400).
 */

// eslint-disable-next-line no-control-regex
const tagValue = /^[^\\\u0000-\u001f]+$/;

const fieldTypes = Object.fromEntries(
  Object.values(kindFields).map((k) => [k.kind, new Map(k.fields.map((f) => [f.name, f.type]))]),
) as Record<KindName, Map<string, 'float' | 'bool'>>;

/**
 * Validates a batch before anything is sent, so a malformed reading rejects the whole batch with an
 * InvalidBatchError and nothing is written. Two readings of one (kind, device, ts) are merged here,
 * later fields winning, as the embedded store does (InfluxDB would merge them too, but only when their
 * tag sets match).
 */
export function mergeBatch(batch: readonly Reading[]): Reading[] {
  const byKey = new Map<string, Reading>();
  for (const r of batch) {
    if (!isKindName(r.kind)) throw new InvalidBatchError(`reading of ${r.device}: unknown kind ${String(r.kind)}`);
    if (!Number.isSafeInteger(r.ts) || r.ts < 0) throw new InvalidBatchError(`reading of ${r.device}: ts must be epoch ms, got ${r.ts}`);
    if (typeof r.device !== 'string' || r.device === '') throw new InvalidBatchError('reading without a device id');
    // Line protocol has no empty tag values (`site=` is a parse error), and a backslash before the
    // next comma or space would escape it; registry ids (core idPattern) never contain either.
    for (const v of [r.device, r.site, r.building, ...(r.category !== undefined ? [r.category] : [])]) {
      if (typeof v !== 'string' || !tagValue.test(v)) throw new InvalidBatchError(`reading of ${r.device}: tag value ${JSON.stringify(v)} is empty or has a backslash or control character`);
    }
    if (r.seq !== undefined && (!Number.isSafeInteger(r.seq) || r.seq < 0)) throw new InvalidBatchError(`reading of ${r.device}: seq must be a non-negative integer`);
    const spec = fieldTypes[r.kind];
    for (const name in r.fields) {
      const v = r.fields[name];
      const f = spec.get(name);
      if (!f) continue; // unknown fields are ignored, as ingest's schemas strip them
      if (f === 'bool' ? typeof v !== 'boolean' : typeof v !== 'number' || !Number.isFinite(v)) {
        throw new InvalidBatchError(`reading of ${r.device}: field ${name} must be a finite ${f}, got ${String(v)}`);
      }
    }
    const key = `${r.kind}\u0000${r.device}\u0000${r.ts}`;
    const prev = byKey.get(key);
    byKey.set(key, prev ? { ...r, seq: r.seq ?? prev.seq, fields: { ...prev.fields, ...r.fields } } : r);
  }
  return [...byKey.values()];
}

const tag = escape.tag;
/** Per kind: its escaped measurement name, and its field keys plus `seq` in sorted order (as Point writes them). */
const layouts = Object.fromEntries(
  Object.values(kindFields).map((k) => [
    k.kind,
    {
      measurement: escape.measurement(k.kind),
      fields: [...k.fields.map((f) => ({ name: f.name, key: tag(f.name), type: f.type as 'float' | 'bool' | 'seq' })), { name: 'seq', key: 'seq', type: 'seq' as const }]
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
    },
  ]),
) as Record<KindName, { measurement: string; fields: { name: string; key: string; type: 'float' | 'bool' | 'seq' }[] }>;

/**
 * One line of line protocol, or undefined for a reading with no known field (nothing to store).
 * Hand-assembled with the client's escapers in the same shape `Point.toLineProtocol` produces (tags
 * and fields sorted by key, InfluxDB's advice for write performance), about twice as fast as
 * building a Point per reading on the ingest hot path.
 */
export function toLine(r: Reading): string | undefined {
  const layout = layouts[r.kind as KindName];
  let fields = '';
  for (const f of layout.fields) {
    let v: string;
    if (f.type === 'seq') {
      if (r.seq === undefined) continue;
      v = `${r.seq}i`;
    } else {
      const x = r.fields[f.name];
      if (x === undefined) continue;
      v = f.type === 'bool' ? (x ? 'T' : 'F') : String(x);
    }
    fields += `${fields === '' ? '' : ','}${f.key}=${v}`;
  }
  if (fields === '') return undefined;
  const category = r.category !== undefined ? `,category=${tag(r.category)}` : '';
  return `${layout.measurement},building=${tag(r.building)}${category},device=${tag(r.device)},site=${tag(r.site)} ${fields} ${r.ts}`;
}

/**
 * Splits lines into request bodies of at most `maxLines` lines and about `maxBytes` bytes: influxd
 * 1.x refuses bodies over `[http] max-body-size` (25 MB by default) with 413, and InfluxData advises
 * 5,000-line batches as the sweet spot for write throughput.
 */
export function chunkLines(lines: readonly string[], maxLines: number, maxBytes: number): string[][] {
  const chunks: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1;
    if (cur.length > 0 && (cur.length >= maxLines || bytes + size > maxBytes)) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(line);
    bytes += size;
  }
  if (cur.length > 0) chunks.push(cur);
  return chunks;
}
