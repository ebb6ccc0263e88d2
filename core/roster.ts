import { z } from 'zod';
import { hazards, type Hazard } from './alarms.js';
import { idSchema } from './registry.js';
import { isValidTimezone, tzOffsetMs } from './time.js';

/**
 * On-call rosters (值班表): per site, a weekly pattern of shifts, each naming who is on duty — in
 * order, the first notified first, the next when the first does not acknowledge — for some
 * hazards in some buildings (a building's steward in 网格化管理 is a shift scoped to it), with
 * exceptions for holidays and swaps, and the site's managers as the end of every chain.
 *
 * All times are wall-clock times in the site's time zone, as people write a roster: a shift from
 * 22:00 to 06:00 on Sunday runs into Monday, and a shift at 08:00 stays at 08:00 when the zone
 * changes its offset. `whoIsOnDuty` is pure: the instant is given, nothing is read.
 */

const hhmm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a wall-clock time HH:MM, 00:00–23:59');
const localDateTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a local date and time YYYY-MM-DDTHH:MM');
const scope = {
  hazards: z.union([z.literal('*'), z.array(z.enum(hazards)).min(1)]).default('*').describe('the hazards this covers, or "*"'),
  buildings: z.union([z.literal('*'), z.array(idSchema).min(1)]).default('*').describe('the buildings this covers (a grid), or "*"'),
};

export const shiftSchema = z
  .object({
    days: z.array(z.number().int().min(1).max(7)).min(1).describe('ISO weekdays the shift starts on: 1 = Monday … 7 = Sunday'),
    start: hhmm,
    end: hhmm.describe('an end at or before the start runs into the next day (22:00–06:00); start = end is 24 hours'),
    ...scope,
    people: z.array(idSchema).min(1).max(10).describe('account ids in escalation order'),
  })
  .strict();

export const rosterExceptionSchema = z
  .object({
    from: localDateTime,
    to: localDateTime,
    ...scope,
    people: z.array(idSchema).max(10).describe('who is on duty instead; empty: nobody, the managers are called'),
    note: z.string().max(200).optional().describe('e.g. 春节值班'),
  })
  .strict()
  .refine((e) => e.from < e.to, { message: 'an exception ends after it starts', path: ['to'] });

export const rosterSchema = z
  .object({
    site: idSchema,
    timezone: z.string().refine(isValidTimezone, 'an IANA time zone, e.g. Asia/Shanghai'),
    shifts: z.array(shiftSchema).max(200),
    exceptions: z.array(rosterExceptionSchema).max(500).default([]),
    managers: z.array(idSchema).max(10).default([]).describe('the end of every chain: called when nobody on duty acknowledges, or nobody is on duty'),
    ackWithinMinutes: z.number().int().min(1).max(1440).optional()
      .describe("how long the person called has to acknowledge a critical or major incident before the next in the chain is called; default: the hub's escalation times"),
  })
  .strict();

export type Shift = z.infer<typeof shiftSchema>;
export type RosterException = z.infer<typeof rosterExceptionSchema>;
export type Roster = z.infer<typeof rosterSchema>;

export interface OnDuty {
  /** Everyone to call, in order: those on duty (building-specific before site-wide), then the managers; no one twice. */
  readonly chain: readonly string[];
  /** Where the people on duty came from: an exception, the weekly pattern, or nobody (only managers). */
  readonly source: 'exception' | 'pattern' | 'managers';
}

const minutes = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The wall clock of `instant` in `tz`: ISO weekday (1 = Monday), minute of the day, and `YYYY-MM-DDTHH:MM`. */
export function wallClock(instant: number, tz: string): { weekday: number; minute: number; local: string } {
  const local = new Date(instant + tzOffsetMs(instant, tz));
  const day = local.getUTCDay();
  return { weekday: day === 0 ? 7 : day, minute: local.getUTCHours() * 60 + local.getUTCMinutes(), local: local.toISOString().slice(0, 16) };
}

const covers = (s: { hazards: '*' | readonly Hazard[]; buildings: '*' | readonly string[] }, hazard: Hazard, building: string | undefined): boolean =>
  (s.hazards === '*' || s.hazards.includes(hazard)) && (s.buildings === '*' || (building !== undefined && s.buildings.includes(building)));

/** Whether a shift is running at a wall-clock weekday and minute (its own day, or the night that ran over from the day before). */
function running(s: Shift, weekday: number, minute: number): boolean {
  const start = minutes(s.start);
  const end = minutes(s.end);
  const overnight = end <= start;
  if (s.days.includes(weekday) && minute >= start && (overnight || minute < end)) return true;
  const yesterday = weekday === 1 ? 7 : weekday - 1;
  return overnight && s.days.includes(yesterday) && minute < end;
}

/** Building-specific first: the steward of the building before the site-wide duty. */
const specificFirst = <T extends { buildings: '*' | readonly string[] }>(items: T[]): T[] =>
  [...items.filter((i) => i.buildings !== '*'), ...items.filter((i) => i.buildings === '*')];

/**
 * Who is on duty for `hazard` in `building` at `instant`, as the chain to call. An exception
 * covering the moment (and the hazard and building) replaces the weekly pattern for it; of
 * several, the one that started last wins (a swap inside a holiday).
 */
export function whoIsOnDuty(roster: Roster, hazard: Hazard, building: string | undefined, instant: number): OnDuty {
  const { weekday, minute, local } = wallClock(instant, roster.timezone);
  const exceptions = roster.exceptions.filter((e) => e.from <= local && local < e.to && covers(e, hazard, building));
  let onDuty: string[];
  let source: OnDuty['source'];
  if (exceptions.length > 0) {
    const latest = exceptions.reduce((a, b) => (b.from > a.from ? b : a));
    onDuty = [...latest.people];
    source = 'exception';
  } else {
    onDuty = specificFirst(roster.shifts.filter((s) => covers(s, hazard, building) && running(s, weekday, minute))).flatMap((s) => s.people);
    source = 'pattern';
  }
  if (onDuty.length === 0) source = 'managers';
  return { chain: [...new Set([...onDuty, ...roster.managers])], source };
}
