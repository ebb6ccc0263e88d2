import { z } from 'zod';
import type { Reading } from '../../core/index.js';
import { severities, type Severity } from '../contracts.js';

/** Helpers shared by the rule files: reading field access and parameter building blocks. */

export const severitySchema = z.enum(severities);
export const enabled = { enabled: z.boolean() };
export const positive = z.number().positive();
export const nonNegative = z.number().nonnegative();

export function num(r: Reading, field: string): number | undefined {
  const v = r.fields[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function flag(r: Reading, field: string): boolean | undefined {
  const v = r.fields[field];
  return typeof v === 'boolean' ? v : undefined;
}

/** One level more urgent (critical stays critical): hazardous-waste bins, for instance. */
export function oneUp(s: Severity): Severity {
  const i = severities.indexOf(s);
  return severities[Math.max(0, i - 1)] ?? 'critical';
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/**
 * A condition that must hold continuously for a while ("held 10 s", "for 5 min"): `since` is the
 * time of the first reading of the current run, cleared as soon as one reading breaks it.
 * Readings are samples, so "held" means every sample over the span met it — from the first to the
 * latest, whether they came 5 s or 5 min apart. `start` moves the run's beginning earlier when
 * the reading speaks for an interval (a register's mean over the time since the previous one).
 */
export interface HoldState {
  since?: number;
}

export function held(state: HoldState, condition: boolean, now: number, forMs: number, start = now): boolean {
  if (!condition) {
    delete state.since;
    return false;
  }
  state.since ??= start;
  return now - state.since >= forMs;
}
