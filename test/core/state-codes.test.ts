import { describe, expect, it } from 'vitest';
import { defineKind } from '../../core/kinds/define.js';
import {
  codedFields, describeCodes, fieldCodes, kinds, labelLangs, stateCodeLabel, stateCodeNames, stateOfCode, switchCodes, switchStateNames, switchStates,
  valveCodes, valveStateNames, valveStates,
} from '../../core/index.js';

/** Discrete state codes of reading fields: `valve` on water meters, `switch` on power meters. */
describe('state codes', () => {
  it('number the valve and the breaker as documented: 0 open, 1 closed, 2 moving, 3 fault; 0 on, 1 off, 2 tripped', () => {
    expect(valveCodes).toEqual({ open: 0, closed: 1, moving: 2, fault: 3 });
    expect(switchCodes).toEqual({ on: 0, off: 1, tripped: 2 });
    expect(describeCodes(valveCodes)).toBe('0 open, 1 closed, 2 moving, 3 fault');
    // The names a command reply's `state` uses are the same states.
    expect(valveStates).toEqual(['open', 'closed', 'moving', 'fault']);
    expect(switchStates).toEqual(['on', 'off', 'tripped']);
    expect(stateOfCode(valveCodes, 1)).toBe('closed');
    expect(stateOfCode(valveCodes, 1.5)).toBeUndefined();
    expect(stateOfCode(valveCodes, 7)).toBeUndefined();
  });

  it('the kinds declare exactly the coded fields the browser-side table lists', () => {
    const declared: Record<string, Record<string, unknown>> = {};
    for (const k of Object.values(kinds)) {
      for (const [name, spec] of Object.entries(k.fields)) if (spec.codes) (declared[k.name] ??= {})[name] = spec.codes;
    }
    expect(declared).toEqual(codedFields);
    expect(fieldCodes('water_meter', 'valve')).toBe(valveCodes);
    expect(fieldCodes('power_meter', 'switch')).toBe(switchCodes);
    expect(fieldCodes('water_meter', 'flow')).toBeUndefined();
    expect(fieldCodes('smoke_detector', 'valve')).toBeUndefined();
    expect(fieldCodes('water_meter', 'constructor')).toBeUndefined();
  });

  it('the payload schema accepts every code and refuses any other value with the codes in its message', () => {
    for (const code of Object.values(valveCodes)) expect(kinds.water_meter.payload.safeParse({ volume: 1, valve: code }).success).toBe(true);
    for (const code of Object.values(switchCodes)) expect(kinds.power_meter.payload.safeParse({ energy: 1, switch: code }).success).toBe(true);
    for (const bad of [7, 1.5, -1, 4, Number.NaN]) {
      const r = kinds.water_meter.payload.safeParse({ volume: 1, valve: bad });
      expect(r.success, String(bad)).toBe(false);
      expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(['valve']);
    }
    const seven = kinds.water_meter.payload.safeParse({ volume: 1, valve: 7 });
    expect(seven.error?.issues[0]?.message).toBe('7 is not a state code; use one of 0 open, 1 closed, 2 moving, 3 fault');
    const half = kinds.power_meter.payload.safeParse({ energy: 1, switch: 1.5 });
    expect(half.error?.issues[0]?.message).toBe('1.5 is not a state code; use one of 0 on, 1 off, 2 tripped');
    // A name where the code belongs is a type error, as for any number.
    expect(kinds.water_meter.payload.safeParse({ volume: 1, valve: 'closed' }).success).toBe(false);
    // Optional: a meter without a valve reports none.
    expect(kinds.water_meter.payload.safeParse({ volume: 1, flow: 2 }).success).toBe(true);
  });

  it('a kind whose codes are not distinct non-negative integers, or that bounds a coded field, is a programming error', () => {
    const base = { name: 'x', label: { en: 'x', zh: 'x' }, mainField: 'v', cumulative: [], reportingIntervalS: 60 } as const;
    expect(() => defineKind({ ...base, fields: { v: { type: 'float', description: 'v', codes: { a: 0, b: 0 } } } })).toThrow(/distinct non-negative integers/);
    expect(() => defineKind({ ...base, fields: { v: { type: 'float', description: 'v', codes: { a: 0.5 } } } })).toThrow(/codes/);
    expect(() => defineKind({ ...base, fields: { v: { type: 'float', description: 'v', codes: {} } } })).toThrow(/codes/);
    expect(() => defineKind({ ...base, fields: { v: { type: 'float', description: 'v', codes: { a: 0 }, max: 3 } } })).toThrow(/min\/max/);
    expect(() => defineKind({ ...base, fields: { v: { type: 'bool', description: 'v', codes: { a: 0 } } } })).toThrow(/float/);
    expect(defineKind({ ...base, fields: { v: { type: 'float', description: 'v', codes: { a: 0, b: 4 } } } }).payload.safeParse({ v: 4 }).success).toBe(true);
  });
});

describe('state code labels', () => {
  it('name every state in Chinese and English', () => {
    for (const lang of labelLangs) {
      for (const s of valveStates) expect(valveStateNames[lang][s], `${lang} ${s}`).toBeTruthy();
      for (const s of switchStates) expect(switchStateNames[lang][s], `${lang} ${s}`).toBeTruthy();
      for (const [kind, fields] of Object.entries(codedFields)) {
        for (const [field, codes] of Object.entries(fields)) {
          for (const code of Object.values(codes)) expect(stateCodeLabel(kind, field, code, lang), `${lang} ${kind}.${field} ${code}`).toBeTruthy();
          expect(Object.keys(stateCodeNames[kind]?.[field]?.[lang] ?? {}).sort()).toEqual(Object.keys(codes).sort());
        }
      }
    }
  });

  it('says what a code means, zh-CN first', () => {
    expect([0, 1, 2, 3].map((c) => stateCodeLabel('water_meter', 'valve', c, 'zh-CN'))).toEqual(['开启', '关闭', '动作中', '故障']);
    expect([0, 1, 2].map((c) => stateCodeLabel('power_meter', 'switch', c, 'zh-CN'))).toEqual(['合闸', '分闸', '跳闸']);
    expect([0, 1, 2, 3].map((c) => stateCodeLabel('water_meter', 'valve', c, 'en'))).toEqual(['Open', 'Closed', 'Moving', 'Fault']);
    expect([0, 1, 2].map((c) => stateCodeLabel('power_meter', 'switch', c, 'en'))).toEqual(['On (closed)', 'Off (open)', 'Tripped']);
  });

  it('has no label for a value that is no code, a field that is not coded, or another kind', () => {
    expect(stateCodeLabel('water_meter', 'valve', 0.5, 'en')).toBeUndefined();
    expect(stateCodeLabel('water_meter', 'valve', 7, 'zh-CN')).toBeUndefined();
    expect(stateCodeLabel('water_meter', 'valve', true, 'en')).toBeUndefined();
    expect(stateCodeLabel('water_meter', 'flow', 1, 'en')).toBeUndefined();
    expect(stateCodeLabel('power_meter', 'valve', 1, 'en')).toBeUndefined();
    expect(stateCodeLabel('__proto__', 'valve', 1, 'en')).toBeUndefined();
  });
});
