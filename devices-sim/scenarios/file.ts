import { z } from 'zod';
import { binCategories, idSchema, kindNames, meterPurposes, type KindName } from '../../core/index.js';
import type { Scenario } from './contract.js';
import { scenarioFactories, scenarioFactory, UNIT_MS } from './registry.js';

/**
 * Scenario files: several scenarios with their start offsets, so that a bad day (a fire in one
 * building, a burst pipe in another an hour later) can be written down once, run by `anju sim
 * --scenario-file`, and replayed by tests through `scenarioReadings`. JSON:
 *
 *   [ { "kind": "fire", "target": "b3", "at": "+2m" },
 *     { "kind": "pipe-burst", "target": "chundu-b1-wm-101", "at": "+1h", "for": "90m" },
 *     { "kind": "household-leak", "target": "b2", "at": "2026-03-01T02:00:00+08:00", "params": { "lpm": 0.4 } } ]
 *
 * or `{ "description": "...", "scenarios": [ ... ] }`. `at` is an offset from the start (`+90s`,
 * `+2m`, `+1.5h`, `+1d`) or an ISO 8601 instant with a zone; `for` a duration in the same units.
 */

const durationPattern = /^(\d+(?:\.\d+)?)([smhd])$/;

/** `+2m` → 120000; refuses anything else with a message saying what to write. */
export function parseOffset(text: string): number {
  const m = /^\+(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (!m) throw new Error(`"${text}" is not an offset: write +30s, +2m, +1h or +1d`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
}

const at = z.union([
  z.string().regex(/^\+\d+(?:\.\d+)?[smhd]$/, 'an offset like +30s, +2m, +1h, +1d'),
  z.iso.datetime({ offset: true }),
], { error: 'at: an offset like +2m or an ISO 8601 instant with a zone' });

const entry = z.object({
  kind: z.string().refine((k) => Object.prototype.hasOwnProperty.call(scenarioFactories, k), {
    error: (issue) => `unknown scenario kind "${String(issue.input)}"; known: ${Object.keys(scenarioFactories).join(', ')}`,
  }),
  target: idSchema,
  at: at.default('+0s'),
  for: z.string().regex(durationPattern, 'a duration like 90s, 30m, 2h, 1d').optional(),
  filter: z.object({
    kind: z.enum(kindNames as [KindName, ...KindName[]]).optional(),
    purpose: z.enum(meterPurposes).optional(),
    category: z.enum(binCategories).optional(),
  }).strict().optional(),
  params: z.record(z.string(), z.number().refine(Number.isFinite, 'a finite number')).optional(),
}).strict();
export type ScenarioFileEntry = z.infer<typeof entry>;

const listSchema = z.array(entry);
const documentSchema = z.object({ description: z.string().optional(), scenarios: listSchema }).strict();
/** Either form; parseScenarioFile picks one by shape first, so errors point into the entries. */
export const scenarioFileSchema = z.union([listSchema, documentSchema]);

/**
 * Parses and validates a scenario file; offsets count from `now`. Errors name the entry and the
 * field to fix, e.g. `scenario file: [1].at: an offset like +2m or an ISO 8601 instant with a zone`.
 */
export function parseScenarioFile(text: string, now: number): Scenario[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`scenario file is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(json) && (json === null || typeof json !== 'object' || !('scenarios' in json))) {
    throw new Error('scenario file: expected a list of scenarios, or an object with "scenarios": [...]');
  }
  const parsed = (Array.isArray(json) ? listSchema : documentSchema).safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\.scenarios/, '').replace(/^\./, '');
      return `${path || '(file)'}: ${i.message}`;
    });
    throw new Error(`scenario file: ${[...new Set(issues)].join('; ')}`);
  }
  const entries = Array.isArray(parsed.data) ? parsed.data : parsed.data.scenarios;
  return entries.map((e) => {
    const startAt = e.at.startsWith('+') ? now + parseOffset(e.at) : Date.parse(e.at);
    const d = e.for ? durationPattern.exec(e.for) : null;
    const durationMs = d ? Number(d[1]) * (UNIT_MS[d[2] as string] ?? 0) : undefined;
    return scenarioFactory(e.kind)(e.target, startAt, { durationMs, filter: e.filter, params: e.params });
  });
}
