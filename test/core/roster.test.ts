import { describe, expect, it } from 'vitest';
import { rosterSchema, wallClock, whoIsOnDuty, type Roster } from '../../core/roster.js';

/** 2026-01-05 is a Monday; Asia/Shanghai is UTC+8 all year. */
const shanghai = (local: string) => Date.parse(`${local}:00+08:00`);

const roster: Roster = rosterSchema.parse({
  site: 'chundu',
  timezone: 'Asia/Shanghai',
  shifts: [
    { days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', hazards: ['fire', 'electrical'], people: ['li.na', 'wang.fang'] },
    { days: [6, 7], start: '08:00', end: '18:00', people: ['chen.jie'] },
    { days: [1, 2, 3, 4], start: '18:00', end: '08:00', people: ['zhao.lei'] },
    { days: [5, 6, 7], start: '18:00', end: '08:00', people: ['qian.ming'] },
    // Building 3's steward, around the clock, for water and waste.
    { days: [1, 2, 3, 4, 5, 6, 7], start: '00:00', end: '00:00', hazards: ['water', 'waste'], buildings: ['b3'], people: ['sun.li'] },
  ],
  exceptions: [
    { from: '2026-02-16T00:00', to: '2026-02-23T00:00', people: ['wang.fang'], note: '春节值班' },
    { from: '2026-02-17T08:00', to: '2026-02-17T18:00', people: ['li.na'], note: '换班' },
    { from: '2026-03-01T00:00', to: '2026-03-01T12:00', hazards: ['waste'], people: [] },
  ],
  managers: ['zhou.min'],
});

describe('whoIsOnDuty', () => {
  it('follows the weekly pattern, the night shift running into the next day', () => {
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-05T10:00'))).toEqual({ chain: ['li.na', 'wang.fang', 'zhou.min'], source: 'pattern' });
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-05T18:00')).chain).toEqual(['zhao.lei', 'zhou.min']);
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-06T07:59')).chain).toEqual(['zhao.lei', 'zhou.min']);
    // Water on a weekday: the day shift covers fire and electrical only, so nobody but the manager.
    expect(whoIsOnDuty(roster, 'water', 'b1', shanghai('2026-01-05T10:00'))).toEqual({ chain: ['zhou.min'], source: 'managers' });
  });

  it('across the week boundary: Sunday night’s shift holds Monday morning until 08:00, then Monday’s day shift', () => {
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-04T23:30')).chain[0]).toBe('qian.ming');
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-05T00:00')).chain[0]).toBe('qian.ming');
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-05T07:59')).chain[0]).toBe('qian.ming');
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-01-05T08:00')).chain[0]).toBe('li.na');
    // Thursday night (zhao.lei) hands over to Friday's day shift, Friday night to qian.ming.
    expect(whoIsOnDuty(roster, 'electrical', 'b2', shanghai('2026-01-09T07:00')).chain[0]).toBe('zhao.lei');
    expect(whoIsOnDuty(roster, 'electrical', 'b2', shanghai('2026-01-09T19:00')).chain[0]).toBe('qian.ming');
  });

  it('reads the roster in the site’s zone: the same instant is Monday in Shanghai and still Sunday in UTC', () => {
    const instant = Date.UTC(2026, 0, 5, 0, 30); // Monday 08:30 in Shanghai, Monday 00:30 UTC
    const sundayUtc = Date.UTC(2026, 0, 4, 16, 30); // Sunday 16:30 UTC, Monday 00:30 in Shanghai
    expect(wallClock(sundayUtc, 'Asia/Shanghai')).toEqual({ weekday: 1, minute: 30, local: '2026-01-05T00:30' });
    expect(whoIsOnDuty(roster, 'fire', 'b1', instant).chain[0]).toBe('li.na');
    expect(whoIsOnDuty({ ...roster, timezone: 'UTC' }, 'fire', 'b1', instant).chain[0]).toBe('qian.ming');
    expect(whoIsOnDuty(roster, 'fire', 'b1', sundayUtc).chain[0]).toBe('qian.ming');
    expect(whoIsOnDuty({ ...roster, timezone: 'UTC' }, 'fire', 'b1', sundayUtc).chain[0]).toBe('chen.jie');
  });

  it('keeps wall-clock shifts over a daylight-saving change', () => {
    const ny: Roster = { ...roster, timezone: 'America/New_York' };
    // Friday 2026-03-06 12:00Z is 07:00 EST (night); Monday 2026-03-09 12:00Z is 08:00 EDT (day shift).
    expect(whoIsOnDuty(ny, 'fire', 'b1', Date.UTC(2026, 2, 6, 12, 0)).chain[0]).toBe('zhao.lei');
    expect(whoIsOnDuty(ny, 'fire', 'b1', Date.UTC(2026, 2, 9, 12, 0)).chain[0]).toBe('li.na');
  });

  it('puts a building’s steward before the site-wide duty, no one twice', () => {
    expect(whoIsOnDuty(roster, 'water', 'b3', shanghai('2026-01-05T10:00')).chain).toEqual(['sun.li', 'zhou.min']);
    expect(whoIsOnDuty(roster, 'water', 'b3', shanghai('2026-01-05T20:00')).chain).toEqual(['sun.li', 'zhao.lei', 'zhou.min']);
    expect(whoIsOnDuty(roster, 'water', undefined, shanghai('2026-01-05T20:00')).chain).toEqual(['zhao.lei', 'zhou.min']);
    expect(whoIsOnDuty({ ...roster, managers: ['zhao.lei'] }, 'fire', 'b1', shanghai('2026-01-05T20:00')).chain).toEqual(['zhao.lei']);
  });

  it('lets an exception replace the pattern, the latest-starting one winning, and an empty one call the managers', () => {
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-02-16T10:00'))).toEqual({ chain: ['wang.fang', 'zhou.min'], source: 'exception' });
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-02-17T10:00')).chain).toEqual(['li.na', 'zhou.min']);
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-02-17T18:00')).chain).toEqual(['wang.fang', 'zhou.min']);
    expect(whoIsOnDuty(roster, 'fire', 'b1', shanghai('2026-02-23T00:00')).source).toBe('pattern');
    expect(whoIsOnDuty(roster, 'waste', 'b3', shanghai('2026-03-01T09:00'))).toEqual({ chain: ['zhou.min'], source: 'managers' });
    expect(whoIsOnDuty(roster, 'fire', 'b3', shanghai('2026-03-01T09:00')).chain).toEqual(['chen.jie', 'zhou.min']);
  });
});

describe('rosterSchema', () => {
  it('refuses what cannot be a roster, with a message', () => {
    const bad = [
      { ...roster, timezone: 'Mars/Olympus' },
      { ...roster, shifts: [{ days: [1], start: '24:00', end: '08:00', people: ['a'] }] },
      { ...roster, shifts: [{ days: [0], start: '08:00', end: '18:00', people: ['a'] }] },
      { ...roster, shifts: [{ days: [1], start: '08:00', end: '18:00', people: [] }] },
      { ...roster, exceptions: [{ from: '2026-02-23T00:00', to: '2026-02-16T00:00', people: [] }] },
      { ...roster, shifts: [{ days: [1], start: '08:00', end: '18:00', hazards: ['flood'], people: ['a'] }] },
      { ...roster, ackWithinMinutes: 0 },
      { ...roster, ackWithinMinutes: 1441 },
      { ...roster, ackWithinMinutes: 2.5 },
    ];
    for (const r of bad) {
      const parsed = rosterSchema.safeParse(r);
      expect(parsed.success, JSON.stringify(r).slice(0, 200)).toBe(false);
      expect(parsed.error?.issues[0]?.message).toBeTruthy();
    }
  });
});
